import pg from 'pg'
import t from 'tap'
import { buildAdmin } from '../../src/admin/app.js'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import type { AppContext } from '../../src/context.js'
import { LOCK_CLASS, RUN_LOCK } from '../../src/migrations/migration-db.js'
import { harness, holdLock, type Harness } from './helpers.js'

const ADMIN = 'admin-token-0123456789abcdef'
const READ = 'read-token-0123456789abcdef'
const auth = (token: string) => ({ authorization: `Bearer ${token}` })

async function adminFor (t: Parameters<typeof harness>[0], h: Harness) {
  const ctx: AppContext = { ...h.ctx, config: { ...h.ctx.config, adminToken: ADMIN, readToken: READ } as Config }
  const app = await buildAdmin(ctx, { gatewayAddress: () => '127.0.0.1:8080' })
  t.teardown(async () => { await app.close() })
  return app
}

interface SseEvent { event: string, data: unknown }

function parseSse (text: string): SseEvent[] {
  return text.split('\n\n').filter((block) => block.startsWith('event:')).map((block) => {
    const lines = block.split('\n')
    return { event: (lines[0] ?? '').slice(7), data: JSON.parse((lines[1] ?? '').slice(6)) }
  })
}

t.test('without databaseUrl every migrations route answers 501', async (t) => {
  const config = loadConfig(['--upstream', 'http://127.0.0.1:9'], {})
  const h = await harness(t)
  const app = await buildAdmin({ ...h.ctx, config }, { gatewayAddress: () => '127.0.0.1:8080' })
  t.teardown(async () => { await app.close() })
  for (const [method, url] of [['GET', '/v1/migrations'], ['POST', '/v1/migrations/runs'], ['POST', '/v1/migrations/analyze'], ['GET', '/v1/migrations/runs/x']] as const) {
    const res = await app.inject({ method, url, ...(method === 'POST' ? { payload: {} } : {}) })
    t.equal(res.statusCode, 501, `${method} ${url}`)
    t.match(res.json(), { statusCode: 501, code: 'DRAWBRIDGE_ERR_NOT_CONFIGURED', message: /DRAWBRIDGE_DATABASE_URL/ })
  }
})

t.test('status, analyze, a run answered 202 at once, followed to the end', async (t) => {
  const h = await harness(t, {
    '001_users.sql': 'CREATE TABLE users (id int PRIMARY KEY, note text);\n',
    '002_drop.sql': '-- drawbridge:maintenance\nALTER TABLE users DROP COLUMN note;\n'
  })
  const app = await adminFor(t, h)

  const status = await app.inject({ method: 'GET', url: '/v1/migrations', headers: auth(READ) })
  t.equal(status.statusCode, 200)
  t.match(status.json(), { applied: [], pending: [{ name: '001_users' }, { name: '002_drop', maintenance: true }], drifted: [], locked: false, backup: null })

  const analyze = await app.inject({ method: 'POST', url: '/v1/migrations/analyze', headers: auth(READ) })
  t.equal(analyze.statusCode, 200, 'a read token may analyze')
  t.match(analyze.json(), { findings: [{ migration: '002_drop', rule: 'ban-drop-column', severity: 'high', line: 2, statement: 'ALTER TABLE users DROP COLUMN note' }] })

  t.equal((await app.inject({ method: 'POST', url: '/v1/migrations/runs', headers: auth(READ), payload: {} })).statusCode, 403, 'a read token may not run')
  const unknown = await app.inject({ method: 'POST', url: '/v1/migrations/runs', headers: auth(ADMIN), payload: { dryRun: true, force: true } })
  t.equal(unknown.statusCode, 400)
  t.match(unknown.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message: /force/ })
  const badEnum = await app.inject({ method: 'POST', url: '/v1/migrations/runs', headers: auth(ADMIN), payload: { maintenance: 'sometimes' } })
  t.equal(badEnum.statusCode, 400)
  t.equal((await app.inject({ method: 'POST', url: '/v1/migrations/runs', headers: auth(ADMIN), payload: { step: 0 } })).statusCode, 400)

  const started = await app.inject({ method: 'POST', url: '/v1/migrations/runs', headers: auth(ADMIN), payload: { backup: true, message: 'Upgrading', retryAfter: 30 } })
  t.equal(started.statusCode, 202)
  const { id } = started.json()
  t.match(id, /^[0-9a-f-]{36}$/)
  t.equal(started.headers.location, `/v1/migrations/runs/${id}`)

  // The events stream of a run ends with `end`; inject collects it whole.
  const events = await app.inject({ method: 'GET', url: `/v1/migrations/runs/${id}/events`, headers: auth(READ) })
  t.equal(events.statusCode, 200)
  t.match(events.headers['content-type'], /text\/event-stream/)
  const parsed = parseSse(events.body)
  t.equal(parsed.at(-1)?.event, 'end')
  t.match(parsed.at(-1)?.data, { id, status: 'succeeded' })

  const run = await app.inject({ method: 'GET', url: `/v1/migrations/runs/${id}`, headers: auth(READ) })
  t.equal(run.statusCode, 200)
  const body = run.json()
  t.match(body, { id, status: 'succeeded', actor: 'admin', options: { backup: true, maintenance: 'auto', dryRun: false }, backup: { file: /\.dump$/ } })
  t.same(body.steps.map((s: { kind: string, name: string, status: string }) => `${s.kind}:${s.name}:${s.status}`), [
    'backup:pg_dump:succeeded', 'maintenance:open:succeeded', 'migration:001_users:succeeded', 'migration:002_drop:succeeded', 'maintenance:close:succeeded'
  ])
  for (const s of body.steps) t.ok(typeof s.durationMs === 'number' && s.startedAt !== null && s.finishedAt !== null, `${s.name} has timings`)
  t.match(body.findings, [{ rule: 'ban-drop-column' }])
  t.ok(body.log.length > 3)

  const after = (await app.inject({ method: 'GET', url: '/v1/migrations', headers: auth(READ) })).json()
  t.match(after, { pending: [], applied: [{ name: '001_users', appliedBy: 'admin', runId: id }, { name: '002_drop' }], backup: { runId: id, exists: true } })
  const list = (await app.inject({ method: 'GET', url: '/v1/migrations/runs?limit=5', headers: auth(READ) })).json()
  t.equal(list.runs[0]?.id, id)

  t.equal((await app.inject({ method: 'GET', url: '/v1/migrations/runs/no-such-run', headers: auth(READ) })).statusCode, 404)
  t.equal((await app.inject({ method: 'GET', url: '/v1/migrations/runs/no-such-run/events', headers: auth(READ) })).statusCode, 404)
  // Found by the fuzz test: a NUL in the id reached PostgreSQL, which cannot hold it in text, and came back as a 503.
  for (const url of ['/v1/migrations/runs/%00', '/v1/migrations/runs/a%00b/events', '/v1/migrations/rehearsals/%00', '/v1/migrations/runs/%0A']) {
    const res = await app.inject({ method: 'GET', url, headers: auth(READ) })
    t.equal(res.statusCode, 400, `${url}: ${res.body}`)
    t.match(res.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message: /id/ })
  }
})

t.test('409 while another runner holds the lock; the events stream follows a live run', async (t) => {
  const h = await harness(t, { '001_t.sql': 'CREATE TABLE t (id int);\n', '002_alter.sql': 'ALTER TABLE t ADD COLUMN x int;\n' })
  const app = await adminFor(t, h)
  const other = new pg.Client({ connectionString: h.db.url })
  await other.connect()
  await other.query('SELECT pg_try_advisory_lock($1::int, $2::int)', [LOCK_CLASS, RUN_LOCK])
  const locked = await app.inject({ method: 'POST', url: '/v1/migrations/runs', headers: auth(ADMIN), payload: {} })
  t.equal(locked.statusCode, 409)
  t.match(locked.json(), { code: 'DRAWBRIDGE_ERR_MIGRATION_LOCKED' })
  t.equal((await app.inject({ method: 'GET', url: '/v1/migrations', headers: auth(READ) })).json().locked, true)
  await other.end()

  const first = await app.inject({ method: 'POST', url: '/v1/migrations/runs', headers: auth(ADMIN), payload: { step: 1 } })
  t.equal(first.statusCode, 202)
  await app.inject({ method: 'GET', url: `/v1/migrations/runs/${first.json().id}/events`, headers: auth(READ) })

  const blocker = await holdLock(t, h.db.url, 'LOCK TABLE t IN ACCESS SHARE MODE')
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  const started = await app.inject({ method: 'POST', url: '/v1/migrations/runs', headers: auth(ADMIN), payload: { lockTimeoutMs: 10_000 } })
  const { id } = started.json()
  const res = await fetch(`${address}/v1/migrations/runs/${id}/events`, { headers: auth(READ) })
  t.equal(res.status, 200)
  const reader = res.body?.getReader()
  if (reader === undefined) throw new Error('no body')
  let text = ''
  const decoder = new TextDecoder()
  // Read until the migration is seen running, then let it through.
  while (!/"status":"running"/.test(text.split('event: step').slice(1).join(''))) {
    const chunk = await reader.read()
    if (chunk.done) break
    text += decoder.decode(chunk.value)
  }
  t.notMatch(text, /event: end/, 'still running while the table is locked')
  await blocker.release()
  for (;;) {
    const chunk = await reader.read()
    if (chunk.done) break
    text += decoder.decode(chunk.value)
  }
  const events = parseSse(text)
  const kinds = events.map((e) => e.event)
  t.equal(kinds.at(-1), 'end')
  t.ok(kinds.includes('log') && kinds.includes('step') && kinds.includes('status'))
  const stepStatuses = events.filter((e) => e.event === 'step').map((e) => (e.data as { step: { status: string } }).step.status)
  t.ok(stepStatuses.indexOf('running') < stepStatuses.lastIndexOf('succeeded'), 'step changes streamed in order')
  t.match(events.filter((e) => e.event === 'status').at(-1)?.data, { status: 'succeeded' })
  t.match(events.at(-1)?.data, { id, status: 'succeeded', steps: [{ name: '002_alter', status: 'succeeded' }] })
})

t.test('an events stream opened just as a run ends still ends', async (t) => {
  const h = await harness(t, { '001_t.sql': 'CREATE TABLE t (id int);\n' })
  const Fastify = (await import('fastify')).default
  const { migrationRoutes } = await import('../../src/migrations/admin-routes.js')
  const app = Fastify()
  await app.register(migrationRoutes, { ctx: h.ctx, service: h.service })
  t.teardown(async () => { await app.close() })
  const { id } = await h.service.startRun({}, 'test')
  // Between the `end` event and the run being forgotten by this process.
  await new Promise<void>((resolve) => { h.service.watch(id, (e) => { if (e.type === 'end') resolve() }) })
  const res = await Promise.race([
    app.inject({ method: 'GET', url: `/v1/migrations/runs/${id}/events` }),
    new Promise<null>((resolve) => setTimeout(() => { resolve(null) }, 5000))
  ])
  t.ok(res !== null, 'the stream ended')
  t.match(res?.body, /event: end\ndata: \{"id":"[^"]+","status":"succeeded"/)
})
