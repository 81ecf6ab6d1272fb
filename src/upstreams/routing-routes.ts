import { Type, type Static } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import type { AdminPluginOptions } from '../admin-plugin.js'
import type { UpstreamsHandle } from '../context.js'
import { PAUSE_MAX_MS_RANGE, UPSTREAM_NAME_PATTERN } from '../state/types.js'
import { patchRouting, routingView } from './routing-service.js'
import { standaloneUpstreams } from './standalone-handle.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
const Name = Type.String({ minLength: 1, maxLength: 63, pattern: UPSTREAM_NAME_PATTERN })
const Canary = Type.Object({ upstream: Name, percentage: Type.Number({ minimum: 0, maximum: 100 }) }, { additionalProperties: false })

const RoutingPatchSchema = Type.Object({
  active: Type.Optional(Name),
  canary: Type.Optional(Nullable(Canary)),
  paused: Type.Optional(Type.Boolean()),
  pauseMaxMs: Type.Optional(Type.Integer(PAUSE_MAX_MS_RANGE)),
  force: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

const RoutingViewSchema = Type.Object({
  active: Type.String(),
  canary: Nullable(Type.Object({ upstream: Type.String(), percentage: Type.Number() })),
  paused: Type.Boolean(),
  pauseMaxMs: Type.Integer(),
  updatedAt: Nullable(Type.String()),
  updatedBy: Nullable(Type.String())
})

const UpstreamsViewSchema = Type.Object({
  upstreams: Type.Array(Type.Object({
    name: Type.String(),
    url: Type.String(),
    healthy: Nullable(Type.Boolean()),
    checkedAt: Nullable(Type.String()),
    inFlight: Type.Integer()
  })),
  routing: RoutingViewSchema,
  /** Requests held by a pause in the process answering. */
  held: Type.Integer(),
  /** Why the stored routing is not followed as written here (replicas configured differently), else null. */
  problem: Nullable(Type.String())
})

/** `GET /v1/upstreams` and `PATCH /v1/routing` (CONTRACT section 6). */
export async function routingRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  let fallback: UpstreamsHandle | null = null
  const handle = (): UpstreamsHandle => ctx.upstreams ?? (fallback ??= standaloneUpstreams(ctx.config))

  app.get('/v1/upstreams', {
    schema: { response: { 200: UpstreamsViewSchema } }
  }, async () => {
    const h = handle()
    return { upstreams: h.status(), routing: routingView(ctx, h.names), held: h.held, problem: h.problem }
  })

  app.patch('/v1/routing', {
    schema: { body: RoutingPatchSchema, response: { 200: RoutingViewSchema } }
  }, async (request) => {
    return await patchRouting(ctx, handle(), request.actor, request.body as Static<typeof RoutingPatchSchema>)
  })
}
