import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { createDatabase, startPrivatePostgres } from '../helpers/postgres.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { patch, patchMaintenance, readyz, startTraffic, summary, timeUntil, toggleLatencies, ADMIN_TOKEN, warmAdmin } from './gateway-client.js'
import { freePort, killProcess, percentile, startRedisServer } from './helpers.js'

// Real `drawbridge serve` processes sharing state through PostgreSQL (and Redis, for comparison).

const TOGGLES = 50

t.test(`propagation: ${TOGGLES} toggles between two gateways on PostgreSQL, then on Redis, measured the same way`, async (t) => {
  const upstream = await startUpstream(t)
  const db = await createDatabase(t, 'drawbridge_pg_e2e_')
  const redisPort = await freePort()
  const redis = await startRedisServer(redisPort)
  t.teardown(async () => { await killProcess(redis) })
  const common = ['--upstream', upstream.url, '--admin-token', ADMIN_TOKEN, '--resync-interval-ms', '5000']
  const results: Record<string, number[]> = {}
  for (const [name, store] of [['PostgreSQL', ['--state-url', db.url]], ['Redis', ['--redis-url', `redis://127.0.0.1:${redisPort}`]]] as const) {
    const a = await spawnGateway(t, [...common, ...store])
    const b = await spawnGateway(t, [...common, ...store])
    await warmAdmin(a, b)
    // The resync runs every 5 s: a toggle seen sooner came by NOTIFY or pub/sub.
    const latencies = await toggleLatencies(a, b, TOGGLES)
    results[name] = latencies
    t.comment(`${name}: ${TOGGLES} toggles (PATCH on one gateway → the other's gateway port answers accordingly): ${summary(latencies)}`)
    t.ok(percentile(latencies, 50) < 1000, `${name}: the median toggle within a second (every one: timeUntil's 5 s)`)
    await Promise.all([a.stop(), b.stop()])
  }
  const pg = results.PostgreSQL as number[]
  const rd = results.Redis as number[]
  t.comment(`side by side, p50/p99 ms: PostgreSQL ${percentile(pg, 50).toFixed(1)}/${percentile(pg, 99).toFixed(1)}, Redis ${percentile(rd, 50).toFixed(1)}/${percentile(rd, 99).toFixed(1)}`)
})

t.test('PostgreSQL stopped and started: the gateways keep serving the last state, refuse writes with 503, report it, and catch up', async (t) => {
  const upstream = await startUpstream(t)
  const server = await startPrivatePostgres(t, await freePort())
  // A password in the URL (trust auth ignores it): it must never reach the logs.
  const url = server.url.replace('postgres@', 'postgres:pg-Secret-42@')
  const args = ['--upstream', upstream.url, '--state-url', url, '--admin-token', ADMIN_TOKEN, '--resync-interval-ms', '500']
  const a = await spawnGateway(t, args)
  const b = await spawnGateway(t, args)
  await warmAdmin(a, b)
  t.equal(await patch(a, { enabled: true, message: 'upgrading', exceptPaths: ['/health'] }), 200)
  await timeUntil(b, 503, performance.now())

  // Traffic through both gateways for the whole outage: maintenance stays on, /health stays proxied.
  const traffic = startTraffic([a, b], { expected: [['/page', 503], ['/health', 200]] })
  await sleep(300)
  await server.stop()
  const stoppedAt = performance.now()
  let down = await readyz(a)
  while (down.status !== 503 && performance.now() - stoppedAt < 5000) {
    await sleep(50)
    down = await readyz(a)
  }
  const detectMs = performance.now() - stoppedAt
  t.equal(down.status, 503, 'readyz reports the lost store')
  t.match(down.body.reason, /^postgres unreachable/)
  t.comment(`PostgreSQL stopped: /readyz 503 after ${detectMs.toFixed(0)} ms: ${down.body.reason ?? ''}`)
  let started = performance.now()
  const refused = await patchMaintenance(b, { enabled: false })
  t.match(refused, { status: 503, body: { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE', message: /postgres unreachable/ } }, 'a write is refused, not lost')
  t.comment(`write refused in ${(performance.now() - started).toFixed(0)} ms`)
  await sleep(1000)

  await server.start()
  const restartedAt = performance.now()
  // The LISTEN connection reconnects on its backoff (at most ~2 s between tries).
  let written = await patch(b, { message: 'after the outage' })
  while (written !== 200 && performance.now() - restartedAt < 10_000) {
    await sleep(100)
    written = await patch(b, { message: 'after the outage' })
  }
  t.equal(written, 200, `writes accepted ${(performance.now() - restartedAt).toFixed(0)} ms after PostgreSQL started`)
  let readyA = await readyz(a)
  while (readyA.status !== 200 && performance.now() - restartedAt < 10_000) {
    await sleep(50)
    readyA = await readyz(a)
  }
  t.equal(readyA.status, 200, `A ready (LISTEN re-established) ${(performance.now() - restartedAt).toFixed(0)} ms after PostgreSQL started`)
  const { served, failures } = await traffic.stop()
  t.same(failures, [], `no request got a wrong answer during the outage (${served} served)`)

  started = performance.now()
  t.equal(await patch(b, { enabled: false }), 200)
  const seen = await timeUntil(a, 200, started)
  t.ok(seen < 1000, `after the outage, B→A in ${seen.toFixed(1)} ms`)
  t.notOk((a.logs() + b.logs()).includes('pg-Secret-42'), 'the password is never logged')
})
