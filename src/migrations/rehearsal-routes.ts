import { Type, type Static } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import { errors } from '../errors.js'
import { openEventStream } from '../http/sse.js'
import type { MigrationService } from './migration-service.js'
import { RehearsalBodySchema, type RehearsalBody, type RehearsalEvent, type RehearsalRecord } from './rehearsal-types.js'

// Ids are UUIDs; a control character (NUL) could not even be sent to PostgreSQL as text: a 400, not a database error.
const Params = Type.Object({ id: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }) }, { additionalProperties: false })

function payload (event: RehearsalEvent): unknown {
  switch (event.type) {
    case 'status': return { status: event.status }
    case 'log': return event.line
    case 'migration': return { index: event.index, migration: event.migration }
    case 'end': return event.rehearsal
  }
}

/** What a late subscriber missed, as the same events a live one received. */
function replay (record: RehearsalRecord): RehearsalEvent[] {
  return [
    { type: 'status', status: record.status },
    ...record.log.map((line): RehearsalEvent => ({ type: 'log', line })),
    ...record.migrations.map((migration, index): RehearsalEvent => ({ type: 'migration', index, migration }))
  ]
}

/**
 * `/v1/migrations/rehearsals*` (CONTRACT section 8): start one (202), read one
 * or the list, follow one over server-sent events like a run (`status`,
 * `log`, `migration` as each ends, then `end` with the whole record).
 */
export function rehearsalRoutes (app: FastifyInstance, need: () => MigrationService): void {
  app.post('/v1/migrations/rehearsals', {
    preValidation: async (request) => { request.body ??= {} },
    schema: { body: RehearsalBodySchema }
  }, async (request, reply) => {
    const started = await need().startRehearsal(request.body as RehearsalBody, request.actor)
    void reply.code(202).header('location', `/v1/migrations/rehearsals/${started.id}`)
    return started
  })

  app.get('/v1/migrations/rehearsals', async () => ({ rehearsals: need().rehearsals.list() }))

  const find = (id: string): RehearsalRecord => {
    const record = need().rehearsals.get(id)
    if (record === null) throw new errors.DRAWBRIDGE_ERR_NOT_FOUND(`No rehearsal ${id} (rehearsals are kept in the memory of the gateway that ran them, the last 20)`)
    return record
  }

  app.get('/v1/migrations/rehearsals/:id', { schema: { params: Params } }, async (request) => find((request.params as Static<typeof Params>).id))

  app.get('/v1/migrations/rehearsals/:id/events', { schema: { params: Params } }, async (request, reply) => {
    const record = find((request.params as Static<typeof Params>).id)
    reply.hijack()
    const stream = openEventStream(reply.raw)
    const send = (event: RehearsalEvent): void => {
      stream.send(event.type, payload(event))
      if (event.type === 'end') stream.end()
    }
    // Subscribing and replaying in the same tick: no change can fall in between.
    const watched = need().rehearsals.watch(record.id, send)
    for (const event of replay(watched?.record ?? record)) send(event)
    if (watched === null) send({ type: 'end', rehearsal: record })
    else stream.onClose(watched.unsubscribe)
  })
}
