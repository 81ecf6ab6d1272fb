import type { FastifyInstance, FastifySchemaCompiler, FastifySerializerCompiler } from 'fastify'
import type { AdminPluginOptions } from '../admin-plugin.js'
import { firstSchemaError } from '../input/schema-errors.js'
import { HEALTHY, isReadyQuery, NOT_READY, READY, READY_QUERY } from './probe-shapes.generated.js'

/**
 * The probes' compilers: the check generated at build time from ReadyQuery
 * (probe-schemas.ts) and JSON.stringify for their fixed answers. With ajv and
 * fast-json-stringify, the first probe of an idle gateway compiled both and
 * grew its RSS by about 2 MB; Kubernetes probes every few seconds, so every
 * running gateway paid it.
 */
const readyQueryCompiler: FastifySchemaCompiler<unknown> = () => (query: unknown) => {
  if (isReadyQuery(query)) return true
  const first = firstSchemaError(READY_QUERY, query)
  return { error: [{ keyword: 'type', instancePath: first?.path ?? '', schemaPath: '', params: {}, message: first?.message.toLowerCase() ?? 'is invalid' }] }
}
const stringify: FastifySerializerCompiler<unknown> = () => JSON.stringify

/**
 * Liveness and readiness, open without a token so orchestrators can probe them.
 * `/readyz` is 503 while no state has loaded and also when a replica that has
 * state lost its store: it keeps serving with what it holds, but an operator
 * (and a rollout) should know it cannot see changes.
 */
export async function healthRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  app.get('/healthz', {
    config: { public: true },
    schema: { response: { 200: HEALTHY } },
    serializerCompiler: stringify
  }, async () => ({ status: 'ok' as const }))

  app.get<{ Querystring: { exclude?: 'store' } }>('/readyz', {
    config: { public: true },
    schema: { querystring: READY_QUERY, response: { 200: READY, 503: NOT_READY } },
    validatorCompiler: readyQueryCompiler,
    serializerCompiler: stringify
  }, async (request, reply) => {
    const health = ctx.holder.health({ ignoreStore: request.query.exclude === 'store' })
    const state = ctx.holder.current
    if (state !== null && health.ok) return { ready: true as const, version: state.version }
    return await reply.code(503).send({ ready: false as const, reason: health.reason ?? 'state not loaded' })
  })
}
