import { recordAudit } from '../state/audit.js'
import { checkPreconditions, type Preconditions } from '../http/etag.js'
import { storeCall } from '../state/store-call.js'
import type { AppContext } from '../context.js'
import { errors } from '../errors.js'
import { stateProblem } from '../state/state-check.js'
import { deleteOwn, emptyDict, getOwn, setOwn } from '../state/dict.js'
import type { Flag, FlagOverride, SharedState } from '../state/types.js'
import { checkFlag, flagFromPatch, flagFromPut, overrideFromBody } from './flag-validate.js'
import type { FlagBody, OverrideBody } from './schemas.js'
import { checkDependents, checkPrerequisites, dependentsOf } from './prerequisites.js'

/**
 * Every flag change goes through here: one atomic `ctx.store.update`, then an
 * audit entry (who, before → after) and a `flag.changed` event. Validation and
 * the `requires` check run inside the update against the newest state, so a
 * concurrent change on another replica cannot slip between check and write;
 * the same holds for If-Match (docs/concurrency.md).
 */

type Ctx = Pick<AppContext, 'store' | 'holder' | 'logger' | 'events' | 'appliedMigrations'>

/** The newest state this process knows; loads it when the holder has none yet. */
export async function currentState (ctx: Pick<AppContext, 'store' | 'holder'>): Promise<SharedState> {
  const held = ctx.holder.current
  if (held !== null) return held
  const loaded = await storeCall(async () => await ctx.store.load())
  // A state the holder refused (see state-holder.ts) is not compiled here either.
  const problem = stateProblem(loaded)
  if (problem !== null) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(`the stored state is invalid: ${problem}`)
  return loaded
}

export async function getFlag (ctx: Pick<AppContext, 'store' | 'holder'>, key: string): Promise<Flag> {
  const flag = getOwn((await currentState(ctx)).flags, key)
  if (flag === undefined) throw new errors.DRAWBRIDGE_ERR_NOT_FOUND(`No flag ${key}`)
  return flag
}

/**
 * Enabling a flag whose `requires` names a migration that is not applied is a
 * 409. Only a change that turns the flag on (or changes what an enabled flag
 * requires) is checked, so editing the description of a live flag never
 * depends on the database being reachable.
 */
async function checkRequires (ctx: Ctx, before: Flag | undefined, after: Flag): Promise<void> {
  if (!after.enabled || after.requires === null) return
  if (before !== undefined && before.enabled && before.requires === after.requires) return
  const migration = after.requires
  if (ctx.appliedMigrations === null) {
    const err = new errors.DRAWBRIDGE_ERR_FLAG_REQUIRES_MIGRATION(after.key, migration)
    err.message = `Flag ${after.key} requires migration ${migration}, and no database is configured (set DRAWBRIDGE_DATABASE_URL) to check that it is applied`
    throw err
  }
  let applied: boolean
  try {
    applied = await ctx.appliedMigrations.isApplied(migration)
  } catch (err) {
    throw new errors.DRAWBRIDGE_ERR_DATABASE((err as Error).message, { cause: err })
  }
  if (!applied) throw new errors.DRAWBRIDGE_ERR_FLAG_REQUIRES_MIGRATION(after.key, migration)
}

async function changed (ctx: Ctx, actor: string, action: string, target: string, before: unknown, after: unknown, data: Record<string, unknown>): Promise<void> {
  ctx.logger.info({ actor, action, flag: data.key }, 'flag changed')
  await recordAudit(ctx, { actor, action, target, before, after })
  ctx.events.publish('flag.changed', actor, { action, ...data })
}

/**
 * Runs `edit` on the newest state inside one atomic store update and returns
 * what its committed run returned. `edit` may run more than once (after a
 * conflict with another replica), always on a fresh draft, so it must not have
 * side effects beyond the draft.
 */
async function atomically<T> (ctx: Ctx, edit: (draft: SharedState) => T | Promise<T>): Promise<T> {
  const committed: { value?: T } = {}
  await storeCall(async () => await ctx.store.update(async (draft) => {
    committed.value = await edit(draft)
    return draft
  }))
  return committed.value as T
}

function existing (draft: SharedState, key: string): Flag {
  const flag = getOwn(draft.flags, key)
  if (flag === undefined) throw new errors.DRAWBRIDGE_ERR_NOT_FOUND(`No flag ${key}`)
  return flag
}

/** Writes `after` over `before` once it passes the flag checks and its `requires`. */
async function writeFlag (ctx: Ctx, draft: SharedState, before: Flag | undefined, after: Flag): Promise<{ before: Flag | undefined, flag: Flag }> {
  checkFlag(after)
  checkPrerequisites(draft.flags, after)
  checkDependents(draft.flags, after)
  await checkRequires(ctx, before, after)
  setOwn(draft.flags, after.key, after)
  return { before, flag: after }
}

/** PUT: create or replace. `created` tells the route whether to answer 201. */
export async function putFlag (ctx: Ctx, actor: string, key: string, body: FlagBody, pre?: Preconditions): Promise<{ flag: Flag, created: boolean }> {
  const { before, flag } = await atomically(ctx, async (draft) => {
    const before = getOwn(draft.flags, key)
    checkPreconditions(pre, before, `flag ${key}`)
    return await writeFlag(ctx, draft, before, flagFromPut(key, body, before, new Date().toISOString()))
  })
  const created = before === undefined
  await changed(ctx, actor, created ? 'flag.create' : 'flag.replace', key, before ?? null, flag, { key, enabled: flag.enabled })
  return { flag, created }
}

export async function patchFlag (ctx: Ctx, actor: string, key: string, body: FlagBody, pre?: Preconditions): Promise<Flag> {
  const { before, flag } = await atomically(ctx, async (draft) => {
    const before = existing(draft, key)
    checkPreconditions(pre, before, `flag ${key}`)
    return await writeFlag(ctx, draft, before, flagFromPatch(before, body, new Date().toISOString()))
  })
  await changed(ctx, actor, 'flag.update', key, before ?? null, flag, { key, enabled: flag.enabled })
  return flag
}

/**
 * Turns a flag on or off. Used by the migration runner (`-- drawbridge:activates`)
 * once a migration commits, so it enforces `requires` like the API does.
 */
export async function setFlagEnabled (ctx: Ctx, actor: string, key: string, enabled: boolean): Promise<Flag> {
  const { before, flag } = await atomically(ctx, async (draft) => {
    const before = existing(draft, key)
    const after = { ...before, enabled, updatedAt: new Date().toISOString() }
    await checkRequires(ctx, before, after)
    setOwn(draft.flags, key, after)
    return { before, flag: after }
  })
  await changed(ctx, actor, enabled ? 'flag.enable' : 'flag.disable', key, before, flag, { key, enabled })
  return flag
}

/** Removes the flag and every override of it. */
export async function deleteFlag (ctx: Ctx, actor: string, key: string, pre?: Preconditions): Promise<void> {
  const removed = await atomically(ctx, (draft) => {
    const flag = existing(draft, key)
    checkPreconditions(pre, flag, `flag ${key}`)
    const dependents = dependentsOf(draft.flags, key)
    if (dependents.length > 0) throw new errors.DRAWBRIDGE_ERR_CONFLICT(`flag ${key} is a prerequisite of ${dependents.join(', ')}; remove it from their prerequisites first`)
    const overrides = getOwn(draft.overrides, key) ?? {}
    deleteOwn(draft.flags, key)
    deleteOwn(draft.overrides, key)
    return { flag, overrides }
  })
  await changed(ctx, actor, 'flag.delete', key, removed, null, { key, enabled: false, deleted: true })
}

export async function setOverride (ctx: Ctx, actor: string, key: string, userId: string, body: OverrideBody): Promise<FlagOverride> {
  const { before, override } = await atomically(ctx, (draft) => {
    const override = overrideFromBody(existing(draft, key), body)
    const forFlag = getOwn(draft.overrides, key) ?? emptyDict<FlagOverride>()
    const before = getOwn(forFlag, userId)
    setOwn(forFlag, userId, override)
    setOwn(draft.overrides, key, forFlag)
    return { before, override }
  })
  await changed(ctx, actor, 'flag.override.set', `${key}/${userId}`, before ?? null, override, { key, userId, override })
  return override
}

export async function deleteOverride (ctx: Ctx, actor: string, key: string, userId: string): Promise<void> {
  const before = await atomically(ctx, (draft) => {
    existing(draft, key)
    const forFlag = getOwn(draft.overrides, key)
    const before = forFlag === undefined ? undefined : getOwn(forFlag, userId)
    if (forFlag === undefined || before === undefined) throw new errors.DRAWBRIDGE_ERR_NOT_FOUND(`No override of flag ${key} for user ${userId}`)
    deleteOwn(forFlag, userId)
    if (Object.keys(forFlag).length === 0) deleteOwn(draft.overrides, key)
    return before
  })
  await changed(ctx, actor, 'flag.override.delete', `${key}/${userId}`, before, null, { key, userId, override: null })
}
