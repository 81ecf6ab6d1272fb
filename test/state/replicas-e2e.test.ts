import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { ADMIN_TOKEN, patch, readyz, startTraffic, timeUntil, warmAdmin } from './gateway-client.js'
import { freePort, killProcess, startRedisServer } from './helpers.js'

// Two real `drawbridge serve` processes on a private redis-server this test may kill.

t.test('two gateways on one Redis: toggles on either reach the other within a second; a Redis outage loses no request', async (t) => {
  const upstream = await startUpstream(t)
  const port = await freePort()
  let redis = await startRedisServer(port)
  t.teardown(async () => { await killProcess(redis) })
  const args = ['--upstream', upstream.url, '--redis-url', `redis://127.0.0.1:${port}`, '--admin-token', ADMIN_TOKEN, '--resync-interval-ms', '500']
  const a = await spawnGateway(t, args)
  const b = await spawnGateway(t, args)
  // What is timed is propagation between replicas: each admin port builds its
  // API on its first request (src/admin/lazy-admin.ts), so that is done first.
  await warmAdmin(a, b)

  let started = performance.now()
  t.equal(await patch(a, { enabled: true, message: 'upgrading' }), 200)
  const aToB = await timeUntil(b, 503, started)
  t.ok(aToB < 1000, `on via A, seen by B after ${aToB.toFixed(1)} ms`)
  started = performance.now()
  t.equal(await patch(b, { enabled: false }), 200)
  const bToA = await timeUntil(a, 200, started)
  t.ok(bToA < 1000, `off via B, seen by A after ${bToA.toFixed(1)} ms`)
  t.comment(`propagation: A→B ${aToB.toFixed(1)} ms, B→A ${bToA.toFixed(1)} ms`)

  // Traffic through both gateways while Redis is killed and comes back empty.
  const load = startTraffic([a, b])
  await sleep(300)
  await killProcess(redis)
  await sleep(1500)
  t.match(await readyz(a), { status: 503, body: { reason: /redis/i } }, 'readyz reports the lost store')
  t.equal(await patch(a, { enabled: true }), 503, 'a write while Redis is away is refused, not lost silently')
  redis = await startRedisServer(port)
  await sleep(1500)
  const { served, failures } = await load.stop()
  t.same(failures, [], `no request failed during the outage (${served} served)`)

  // The replicas put their state back into the empty Redis and keep agreeing.
  // B reconnects on ioredis's backoff, which a loaded machine stretches: retry for up to 10 s, as an operator would.
  started = performance.now()
  let written = await patch(b, { enabled: true, message: 'after the outage' })
  while (written !== 200 && performance.now() - started < 10_000) {
    await sleep(200)
    written = await patch(b, { enabled: true, message: 'after the outage' })
  }
  t.equal(written, 200, `writes work again (${(performance.now() - started).toFixed(0)} ms after the first try)`)
  started = performance.now()
  const after = await timeUntil(a, 503, started)
  t.ok(after < 1000, `after the outage, B→A in ${after.toFixed(1)} ms`)
  // A's own command connection may still be on its reconnect backoff after its subscriber heard B: poll.
  let ready = 0
  for (const until = performance.now() + 5000; ready !== 200 && performance.now() < until; await sleep(100)) ready = (await readyz(a)).status
  t.equal(ready, 200, 'ready again')
})
