import { Type } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import { etagOf, preconditionsOf } from '../http/etag.js'
import type { AdminPluginOptions } from '../admin-plugin.js'
import { getOwn } from '../state/dict.js'
import type { Flag } from '../state/types.js'
import { compiledFor } from './compile.js'
import { evaluateFlag, ofrepValue, ofrepVariant } from './evaluate.js'
import { currentState, deleteFlag, deleteOverride, getFlag, patchFlag, putFlag, setOverride } from './flag-service.js'
import { flagRuntime } from './flag-runtime.js'
import { staleness, type FlagUsage, type Staleness } from './flag-usage.js'
import { scheduledState } from './schedule.js'
import {
  FlagBodySchema, FlagViewSchema, KeyParams, ListQuery, OverrideParams, OverrideSchema,
  OverrideViewSchema, ResolvedFlagSchema, UserFlagsQuery, UserParams, type FlagBody, type OverrideBody
} from './schemas.js'

type FlagView = Flag & { lastEvaluatedAt: string | null, stale?: Staleness, inForce?: { enabled: boolean, percentage: number | null, step: number | null, nextAt: string | null } }

function view (flag: Flag, usage: FlagUsage | null): FlagView {
  const last = usage?.lastEvaluatedAt(flag.key) ?? null
  // Flags written before prerequisites and schedules existed show none.
  const out: FlagView = { ...flag, prerequisites: flag.prerequisites ?? null, schedule: flag.schedule ?? null, lastEvaluatedAt: last === null ? null : new Date(last).toISOString() }
  if ((flag.schedule ?? null) !== null) {
    const s = scheduledState(flag, Date.now())
    out.inForce = { enabled: s.enabled, percentage: s.percentage, step: s.step < 0 ? null : s.step, nextAt: s.nextAt === null ? null : new Date(s.nextAt).toISOString() }
  }
  return out
}

/** The flag admin API: CRUD, per-user overrides, and every flag resolved for one user. */
export async function flagAdminRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  const runtime = flagRuntime(ctx)
  app.addHook('onClose', async () => { await runtime.close() })

  app.get('/v1/flags', {
    schema: { querystring: ListQuery, response: { 200: Type.Object({ flags: Type.Array(FlagViewSchema) }) } }
  }, async (request) => {
    const { stale } = request.query as { stale?: boolean }
    const state = await currentState(ctx)
    const usage = await runtime.snapshot()
    const keys = Object.keys(state.flags).sort()
    const flags: FlagView[] = []
    const now = Date.now()
    for (const key of keys) {
      const flag = getOwn(state.flags, key) as Flag
      if (stale !== true) {
        flags.push(view(flag, usage))
        continue
      }
      const s = staleness(flag, usage.labels(key), now, ctx.config.flagsStaleDays)
      if (s !== null) flags.push({ ...view(flag, usage), stale: s })
    }
    return { flags }
  })

  app.get('/v1/flags/:key', {
    schema: { params: KeyParams, response: { 200: FlagViewSchema } }
  }, async (request, reply) => {
    const { key } = request.params as { key: string }
    const flag = await getFlag(ctx, key)
    // No 304 here: the answer also carries lastEvaluatedAt, which moves without the flag changing.
    void reply.header('etag', etagOf(flag))
    return view(flag, await runtime.snapshot())
  })

  app.put('/v1/flags/:key', {
    schema: { params: KeyParams, body: FlagBodySchema, response: { 200: FlagViewSchema, 201: FlagViewSchema } }
  }, async (request, reply) => {
    const { key } = request.params as { key: string }
    const { flag, created } = await putFlag(ctx, request.actor, key, request.body as FlagBody, preconditionsOf(request.headers))
    if (created) void reply.code(201)
    void reply.header('etag', etagOf(flag))
    return view(flag, runtime.usage)
  })

  app.patch('/v1/flags/:key', {
    schema: { params: KeyParams, body: FlagBodySchema, response: { 200: FlagViewSchema } }
  }, async (request, reply) => {
    const { key } = request.params as { key: string }
    const flag = await patchFlag(ctx, request.actor, key, request.body as FlagBody, preconditionsOf(request.headers))
    void reply.header('etag', etagOf(flag))
    return view(flag, runtime.usage)
  })

  app.delete('/v1/flags/:key', {
    schema: { params: KeyParams }
  }, async (request, reply) => {
    const { key } = request.params as { key: string }
    await deleteFlag(ctx, request.actor, key, preconditionsOf(request.headers))
    return await reply.code(204).send()
  })

  app.get('/v1/flags/:key/overrides', {
    schema: { params: KeyParams, response: { 200: Type.Object({ key: Type.String(), overrides: Type.Array(OverrideViewSchema) }) } }
  }, async (request) => {
    const { key } = request.params as { key: string }
    await getFlag(ctx, key)
    const state = await currentState(ctx)
    const overrides = Object.entries(getOwn(state.overrides, key) ?? {}).map(([userId, o]) => ({ key, userId, ...o }))
    return { key, overrides }
  })

  app.put('/v1/flags/:key/overrides/:userId', {
    schema: { params: OverrideParams, body: OverrideSchema, response: { 200: OverrideViewSchema } }
  }, async (request) => {
    const { key, userId } = request.params as { key: string, userId: string }
    const override = await setOverride(ctx, request.actor, key, userId, request.body as OverrideBody)
    return { key, userId, ...override }
  })

  app.delete('/v1/flags/:key/overrides/:userId', {
    schema: { params: OverrideParams }
  }, async (request, reply) => {
    const { key, userId } = request.params as { key: string, userId: string }
    await deleteOverride(ctx, request.actor, key, userId)
    return await reply.code(204).send()
  })

  // An inspection tool: evaluations here are not counted as usage.
  app.get('/v1/users/:userId/flags', {
    schema: {
      params: UserParams,
      querystring: UserFlagsQuery,
      response: { 200: Type.Object({ userId: Type.String(), flags: Type.Array(ResolvedFlagSchema) }) }
    }
  }, async (request) => {
    const { userId } = request.params as { userId: string }
    const attributes = request.query as Record<string, string>
    const table = compiledFor(await currentState(ctx))
    const evalCtx = { targetingKey: userId, attributes }
    const flags = table.list.map((cf) => {
      const ev = evaluateFlag(cf, evalCtx)
      return {
        key: cf.key,
        enabled: ev.value,
        value: ofrepValue(cf, ev),
        variant: ofrepVariant(ev),
        reason: ev.reason,
        hasOverride: cf.overrides?.has(userId) ?? false,
        ...(ev.errorCode === undefined ? {} : { errorCode: ev.errorCode })
      }
    })
    return { userId, flags }
  })
}
