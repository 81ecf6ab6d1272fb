import { randomUUID } from 'node:crypto'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { AppContext } from '../context.js'
import type { DrawbridgeEvent } from '../events.js'
import type { MaintenanceState } from '../state/types.js'
import { recordAudit } from '../state/audit.js'
import { checkPreconditions, type Preconditions } from '../http/etag.js'
import { applyEdits, checkMerged, normalizeEdits, normalizePatch, type MaintenancePatch } from './maintenance-patch.js'
import { redactSecrets } from '../state/redact.js'
import { storeCall } from '../state/store-call.js'

export type { MaintenancePatch } from './maintenance-patch.js'

function inWindow (m: MaintenanceState, now: number): boolean {
  return m.enabled && (m.startsAt === null || Date.parse(m.startsAt) <= now) && (m.endsAt === null || Date.parse(m.endsAt) > now)
}

/**
 * Which domain event a change is, if any: toggles first, then a moved window.
 * A window moved so that maintenance takes effect now (a scheduled start
 * cleared or brought forward) is `maintenance.enabled`, as a subscriber waiting
 * for the gate to go up expects; other moves are `maintenance.scheduled`.
 */
export function eventFor (before: MaintenanceState, after: MaintenanceState, now: number): DrawbridgeEvent | null {
  const windowMoved = before.startsAt !== after.startsAt || before.endsAt !== after.endsAt
  const startsLater = after.startsAt !== null && Date.parse(after.startsAt) > now
  if (!before.enabled && after.enabled) return startsLater ? 'maintenance.scheduled' : 'maintenance.enabled'
  if (before.enabled && !after.enabled) return 'maintenance.disabled'
  if (after.enabled && windowMoved) return !inWindow(before, now) && inWindow(after, now) ? 'maintenance.enabled' : 'maintenance.scheduled'
  return null
}

/**
 * Merges `patch` into the maintenance state in one atomic store update: fields
 * left out keep their value, `null` clears, `secret: true` generates a new one.
 * `allowAdd`/`allowRemove` (and the same for exceptPaths and paths) edit single
 * entries of the newest lists. With preconditions (If-Match), a stale one
 * throws DRAWBRIDGE_ERR_PRECONDITION_FAILED and nothing is written.
 * A bad patch throws DRAWBRIDGE_ERR_INVALID before anything is written; an
 * unreachable store throws DRAWBRIDGE_ERR_STORE_UNAVAILABLE. The change is
 * audited (secret redacted) and published on ctx.events once committed.
 */
export async function patchMaintenance (ctx: AppContext, actor: string, patch: MaintenancePatch, pre?: Preconditions): Promise<MaintenanceState> {
  const changes = normalizePatch(patch)
  const edits = normalizeEdits(patch)
  // Validating a large list takes tens of ms: let gateway requests through before the write.
  await yieldToEventLoop()
  let before: MaintenanceState | null = null
  const state = await storeCall(async () => await ctx.store.update((draft) => {
    before = draft.maintenance
    // Against the newest state, inside the atomic update: see docs/concurrency.md.
    checkPreconditions(pre, draft.maintenance, 'the maintenance state')
    const next: MaintenanceState = { ...applyEdits(draft.maintenance, edits), ...changes, updatedAt: new Date().toISOString(), updatedBy: actor }
    // A new generation whenever the secret changes, even back to an earlier
    // value, so cookies issued for that earlier generation stay void.
    if (changes.secret !== undefined && changes.secret !== draft.maintenance.secret) next.secretId = changes.secret === null ? null : randomUUID()
    checkMerged(next, { publicUrl: ctx.config.publicUrl })
    return { ...draft, maintenance: next }
  }))
  const after = state.maintenance
  const previous = before as MaintenanceState | null ?? after

  await yieldToEventLoop()
  ctx.logger.info({ actor, enabled: after.enabled, fields: [...Object.keys(changes), ...Object.keys(edits)], version: state.version }, 'maintenance updated')
  await recordAudit(ctx, {
    actor,
    action: 'maintenance.update',
    target: 'maintenance',
    before: previous,
    after
  })
  const event = eventFor(previous, after, Date.now())
  if (event !== null) ctx.events.publish(event, actor, { maintenance: redactSecrets(after) })
  return after
}
