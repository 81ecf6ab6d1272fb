import { Type } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import type { AdminPluginOptions } from '../admin-plugin.js'

const Ready = Type.Object({ ready: Type.Literal(true), version: Type.Integer() })
const NotReady = Type.Object({ ready: Type.Literal(false), reason: Type.String() })
/**
 * `?exclude=store` (Kubernetes' /readyz?exclude=<check>): ready as soon as a
 * state is served, from the store or from the state cache, even while the
 * store is unreachable. For a startup probe: a container restarted during a
 * store outage then serves its cached state instead of waiting it out.
 * Other parameters are ignored, as probes and monitors add their own
 * (cache busters, `?verbose`); an `exclude` other than `store` is a 400.
 */
const ReadyQuery = Type.Object({ exclude: Type.Optional(Type.Literal('store')) }, { additionalProperties: true })

/**
 * Liveness and readiness, open without a token so orchestrators can probe them.
 * `/readyz` is 503 while no state has loaded and also when a replica that has
 * state lost its store: it keeps serving with what it holds, but an operator
 * (and a rollout) should know it cannot see changes.
 */
export async function healthRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  app.get('/healthz', {
    config: { public: true },
    schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } }
  }, async () => ({ status: 'ok' as const }))

  app.get<{ Querystring: { exclude?: 'store' } }>('/readyz', {
    config: { public: true },
    schema: { querystring: ReadyQuery, response: { 200: Ready, 503: NotReady } }
  }, async (request, reply) => {
    const health = ctx.holder.health({ ignoreStore: request.query.exclude === 'store' })
    const state = ctx.holder.current
    if (state !== null && health.ok) return { ready: true as const, version: state.version }
    return await reply.code(503).send({ ready: false as const, reason: health.reason ?? 'state not loaded' })
  })
}
