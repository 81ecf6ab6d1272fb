import t, { type Test } from 'tap'
import { runDrawbridge } from '../helpers/spawn-gateway.js'
import { createDatabase, tempDir, writeMigrations } from '../migrations/helpers.js'
import { admin, gatewayFor, hit, namedUpstream, route, sleep, TOKEN, upstreamsView, waitFor, type Hit } from './helpers.js'

/**
 * CONTRACT section 6: a migration run may take `"pause": true`, and then
 * traffic is held while it runs instead of a maintenance window being opened.
 * Checked through the real binary, a real upstream and a real PostgreSQL.
 */

// Long enough to send a request into the pause and see it held.
const SLOW = 'SELECT pg_sleep(1.5);\nCREATE TABLE orders (id int PRIMARY KEY);\n'

async function setUp (t: Test, files: Record<string, string>) {
  const db = await createDatabase(t)
  const dir = await tempDir(t)
  await writeMigrations(dir, files)
  const blue = await namedUpstream(t, 'blue')
  const gw = await gatewayFor(t, [blue], { args: ['--database-url', db.url, '--migrations-dir', dir] })
  return { db, dir, blue, gw }
}

async function runRecord (gw: Parameters<typeof admin>[0], id: string): Promise<Record<string, any>> {
  return (await admin(gw, 'GET', `/v1/migrations/runs/${id}`)).body
}

async function runEnd (gw: Parameters<typeof admin>[0], id: string): Promise<Record<string, any>> {
  let run: Record<string, any> = {}
  await waitFor(async () => { run = await runRecord(gw, id); return run.status !== 'queued' && run.status !== 'running' }, 20_000, 50)
  return run
}

t.test('pause: true holds requests while the migrations run, opens no window, and releases them when the run ends', { timeout: 40_000 }, async (t) => {
  const { blue, gw } = await setUp(t, { '001_orders.sql': SLOW })
  const started = await admin(gw, 'POST', '/v1/migrations/runs', { pause: true })
  t.equal(started.status, 202, JSON.stringify(started.body))
  const id = started.body.id as string

  t.ok(await waitFor(async () => (await upstreamsView(gw)).routing.paused, 5000), 'the run pauses traffic')
  const routing = (await upstreamsView(gw)).routing
  t.equal(routing.updatedBy, `migration-run:${id}`, 'the pause is the run\'s, audited as migration-run:<id>')
  const sentAt = Date.now()
  const held = hit(gw, '/checkout', { timeoutMs: 15_000 })
  let answered: Hit | null = null
  void held.then((h) => { answered = h }, () => {})
  await sleep(300)
  t.equal(answered, null, 'a request sent during the run is held')
  t.equal(blue.arrivals.length, 0, 'and has reached no upstream')
  t.equal((await admin(gw, 'GET', '/v1/maintenance')).body.enabled, false, 'no maintenance window was opened')

  const run = await runEnd(gw, id)
  t.equal(run.status, 'succeeded', JSON.stringify(run.log))
  t.same(run.steps.map((s: any) => `${s.kind}:${s.name}:${s.status}`), ['pause:hold:succeeded', 'migration:001_orders:succeeded', 'pause:release:succeeded'])
  const answer = await held
  t.equal(answer.status, 200, 'released when the run ended')
  t.equal(answer.upstream, 'blue')
  const releasedAt = Date.parse(run.steps[2].finishedAt as string)
  t.ok(blue.arrivals[0] !== undefined && blue.arrivals[0].at >= releasedAt - 5, 'it reached the upstream only after the release')
  t.comment(`held for ${Date.now() - sentAt} ms across a 1.5 s migration`)
  t.equal((await upstreamsView(gw)).routing.paused, false, 'traffic resumed')
  t.equal((await hit(gw, '/after')).status, 200)
  t.match(run.log.map((l: any) => l.msg).join('\n'), /traffic paused: requests are held while the migrations run[\s\S]*traffic resumed/)
})

t.test('a pause the operator had set is left as it was; a failed run follows onFailure', { timeout: 40_000 }, async (t) => {
  const { dir, gw } = await setUp(t, { '001_ok.sql': 'CREATE TABLE a (id int);\n' })
  await route(gw, { paused: true, pauseMaxMs: 400 })
  const kept = await runEnd(gw, (await admin(gw, 'POST', '/v1/migrations/runs', { pause: true })).body.id as string)
  t.equal(kept.status, 'succeeded')
  t.equal(kept.steps.at(-1).detail, 'pause left as it was before the run (paused)')
  t.equal((await upstreamsView(gw)).routing.paused, true, 'still paused: the operator paused it')
  await route(gw, { paused: false })

  await writeMigrations(dir, { '002_fails.sql': 'CREATE TABLE b (id int);\nSELECT * FROM missing_table;\n' })
  const restored = await runEnd(gw, (await admin(gw, 'POST', '/v1/migrations/runs', { pause: true, onFailure: 'restore' })).body.id as string)
  t.equal(restored.status, 'failed')
  t.match(restored.steps.find((s: any) => s.name === 'restore'), { kind: 'pause', status: 'succeeded', detail: /traffic resumed/ })
  t.equal((await upstreamsView(gw)).routing.paused, false, 'onFailure: restore resumes traffic')

  const keep = await runEnd(gw, (await admin(gw, 'POST', '/v1/migrations/runs', { pause: true })).body.id as string)
  t.equal(keep.status, 'failed')
  t.equal((await upstreamsView(gw)).routing.paused, true, 'onFailure: keep (the default) leaves traffic paused')
  t.match(keep.log.map((l: any) => l.msg).join('\n'), /traffic stays PAUSED after the failure/)
  const late = await hit(gw, '/while-kept', { timeoutMs: 5000 })
  t.equal(late.status, 503, 'a request then waits pauseMaxMs and gets the maintenance 503')
  t.ok(late.ms >= 350, `after ${Math.round(late.ms)} ms`)
})

t.test('pause with maintenance: never is refused, naming the field; the CLI takes --pause', { timeout: 40_000 }, async (t) => {
  const { gw } = await setUp(t, { '001_orders.sql': 'CREATE TABLE orders (id int);\n' })
  const refused = await admin(gw, 'POST', '/v1/migrations/runs', { pause: true, maintenance: 'never' })
  t.equal(refused.status, 400)
  t.match(refused.body, { code: 'DRAWBRIDGE_ERR_INVALID', message: /^pause: / })
  t.equal((await admin(gw, 'POST', '/v1/migrations/runs', { pause: 'yes' })).status, 400, 'pause must be a boolean')
  t.equal((await upstreamsView(gw)).routing.paused, false, 'nothing was paused')

  const cli = await runDrawbridge(['migrate', 'up', '--pause'], { DRAWBRIDGE_ADMIN_URL: `http://${gw.admin}`, DRAWBRIDGE_ADMIN_TOKEN: TOKEN }, 30_000)
  t.equal(cli.code, 0, cli.stdout + cli.stderr)
  t.match(cli.stdout, /traffic paused: requests are held/)
  t.match(cli.stdout, /traffic resumed/)
  t.equal((await upstreamsView(gw)).routing.paused, false)
})
