import { Type, type Static } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import type { AdminPluginOptions } from '../admin-plugin.js'
import { errors } from '../errors.js'
import type { MigrationService } from './migration-service.js'
import { rehearsalRoutes } from './rehearsal-routes.js'
import { streamRunEvents } from './run-events-stream.js'
import { AnalyzeBodySchema, RunBodySchema, type RunBody } from './run-schema.js'

export interface MigrationRoutesOptions extends AdminPluginOptions {
  /** Tests pass their own; by default one is built from ctx.config (none without databaseUrl). */
  service?: MigrationService | null
}

// Ids are UUIDs; a control character (NUL) could not even be sent to PostgreSQL as text: a 400, not a database error.
const RunParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }) }, { additionalProperties: false })
const RunsQuery = Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }) }, { additionalProperties: false })

/**
 * The runner, pg and the WASM SQL parser load only when a database is
 * configured: a gateway without one should not pay their memory.
 */
async function serviceFromConfig (opts: AdminPluginOptions): Promise<MigrationService | null> {
  if (opts.ctx.config.databaseUrl === undefined) return null
  const { MigrationService } = await import('./migration-service.js')
  return MigrationService.fromContext(opts.ctx)
}

/**
 * `/v1/migrations*`: a thin layer over MigrationService. Runs start with 202
 * once the lock is taken and the run recorded; progress is read from
 * `/runs/:id` or followed on `/runs/:id/events` (server-sent events).
 */
export async function migrationRoutes (app: FastifyInstance, opts: MigrationRoutesOptions): Promise<void> {
  const service = opts.service === undefined ? await serviceFromConfig(opts) : opts.service
  if (service !== null && opts.service === undefined) {
    void service.start()
    app.addHook('onClose', async () => { await service.close() })
  }
  const need = (): MigrationService => {
    if (service === null) throw new errors.DRAWBRIDGE_ERR_NOT_CONFIGURED('DRAWBRIDGE_DATABASE_URL (--database-url)')
    return service
  }
  // An empty POST is an empty body: `curl -X POST .../runs` starts a default run.
  const emptyBodyIsObject = async (request: { body: unknown }): Promise<void> => { request.body ??= {} }

  app.get('/v1/migrations', async () => await need().status())

  app.post('/v1/migrations/analyze', {
    config: { role: 'read' },
    preValidation: emptyBodyIsObject,
    schema: { body: AnalyzeBodySchema }
  }, async () => await need().analyze())

  app.post('/v1/migrations/runs', {
    preValidation: emptyBodyIsObject,
    schema: { body: RunBodySchema }
  }, async (request, reply) => {
    const started = await need().startRun(request.body as RunBody, request.actor)
    void reply.code(202).header('location', `/v1/migrations/runs/${started.id}`)
    return started
  })

  app.get('/v1/migrations/runs', { schema: { querystring: RunsQuery } }, async (request) => {
    const { limit } = request.query as Static<typeof RunsQuery>
    return { runs: await need().listRuns(limit) }
  })

  app.get('/v1/migrations/runs/:id', { schema: { params: RunParams } }, async (request) => {
    const { id } = request.params as Static<typeof RunParams>
    const run = await need().getRun(id)
    if (run === null) throw new errors.DRAWBRIDGE_ERR_NOT_FOUND(`No migration run ${id}`)
    return run
  })

  rehearsalRoutes(app, need)

  app.get('/v1/migrations/runs/:id/events', { schema: { params: RunParams } }, async (request, reply) => {
    const { id } = request.params as Static<typeof RunParams>
    const svc = need()
    const run = await svc.getRun(id)
    if (run === null) throw new errors.DRAWBRIDGE_ERR_NOT_FOUND(`No migration run ${id}`)
    reply.hijack()
    await streamRunEvents(svc, run, reply.raw)
  })
}
