import t from 'tap'
import { gatewayFor, hit, namedUpstream, REDIS_URL, redisPrefix, route, sleep, upstreamsView, waitFor } from './helpers.js'

/**
 * CONTRACT section 6: routing lives in the store beside the maintenance
 * state, so every replica switches together (within a second) and it
 * survives restarts. Two gateways on one Redis, one key prefix of their own.
 */

/** Polls the replica's gateway port until a request lands on `side`; ms from `since`, or null after `timeoutMs`. */
async function untilSide (gateway: string, side: string, since: number, timeoutMs = 3000): Promise<number | null> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const answer = await hit(gateway, '/poll', { timeoutMs: 1000 })
    if (answer.upstream === side) return performance.now() - since
    await sleep(5)
  }
  return null
}

t.test('two replicas on one Redis switch together, and a restarted replica keeps the routing', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const options = { args: ['--redis-url', REDIS_URL], config: { redis: { keyPrefix: redisPrefix('replicas') } } }
  const a = await gatewayFor(t, [blue, green], options)
  const b = await gatewayFor(t, [blue, green], options)
  t.equal((await hit(b.gateway, '/start')).upstream, 'blue', 'B starts on blue')
  // Warm both admin ports (built lazily on the first API call) so that is not what gets timed.
  await upstreamsView(a)
  await upstreamsView(b)

  const delays: number[] = []
  for (const side of ['green', 'blue', 'green']) {
    const sent = performance.now()
    const routing = await route(a, { active: side })
    const answered = performance.now()
    t.equal(routing.active, side, `A answers active ${side} (PATCH ${Math.round(routing.ms)} ms)`)
    const delay = await untilSide(b.gateway, side, sent)
    t.not(delay, null, `B's traffic reaches ${side}`)
    if (delay === null) return
    delays.push(delay)
    t.ok(delay < 1000, `B's traffic on ${side} ${Math.round(delay)} ms after the PATCH on A was sent, ${Math.max(0, Math.round(delay - (answered - sent)))} ms after it answered (< 1 s)`)
    const settled = await waitFor(async () => (await upstreamsView(b)).routing.active === side, 1000)
    t.ok(settled, `B's GET /v1/upstreams shows active ${side}`)
  }
  t.comment(`replica switch delays (PATCH on A sent → first request on B on the new side): ${delays.map((d) => Math.round(d)).join(', ')} ms`)
  t.equal((await upstreamsView(b)).routing.updatedBy !== null, true, 'updatedBy recorded')

  // A canary set on B reaches A.
  await route(b, { canary: { upstream: 'blue', percentage: 37 } })
  t.ok(await waitFor(async () => (await upstreamsView(a)).routing.canary?.percentage === 37, 1000), 'a canary set on B shows on A within a second')

  // A pause set on A holds B's requests; a resume on B releases them.
  await route(a, { paused: true })
  t.ok(await waitFor(async () => (await upstreamsView(b)).routing.paused, 1000), 'B sees the pause within a second')
  let done = false
  const held = hit(b.gateway, '/held-on-b', { timeoutMs: 8000, headers: {} }).finally(() => { done = true })
  await sleep(300)
  t.notOk(done, 'B holds a request while A paused')
  await route(b, { paused: false })
  const released = await held
  t.equal(released.status, 200, 'released once resumed (on B)')

  // A restarted B keeps the routing from the store.
  await route(a, { canary: null })
  t.equal(await b.stop(), 0, 'B stops cleanly')
  const b2 = await gatewayFor(t, [blue, green], options)
  const first = await hit(b2.gateway, '/after-restart')
  t.equal(first.upstream, 'green', 'restarted B serves green from its first request')
  t.equal((await upstreamsView(b2)).routing.active, 'green')
})
