import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { Pool } from 'undici'
import { HealthMonitor, probe } from '../../src/upstreams/health-monitor.js'
import { PauseQueue, type HeldRequest } from '../../src/upstreams/pause-queue.js'
import { canaryBucket, compileRouting, pickUpstream } from '../../src/upstreams/routing.js'
import { defaultRouting, type RoutingState } from '../../src/state/types.js'

// The pure and in-process parts of section 6, below the end-to-end tests: routing, the pause queue, health state.

const NAMES = ['blue', 'green', 'grey']
const stored = (patch: Partial<RoutingState>): RoutingState => ({ ...defaultRouting(), ...patch })

t.test('compileRouting resolves names to indexes and refuses what this process does not have', async (t) => {
  t.match(compileRouting(undefined, NAMES), { active: 0, canary: null, paused: false, problem: null, state: { active: 'blue' } }, 'nothing stored: the first upstream')
  t.match(compileRouting(stored({ active: 'green' }), NAMES), { active: 1, problem: null })
  const unknown = compileRouting(stored({ active: 'purple', canary: { upstream: 'mauve', percentage: 10 } }), NAMES)
  t.equal(unknown.active, 0, 'an unknown active upstream falls back to the first')
  t.equal(unknown.canary, null, 'an unknown canary upstream is dropped')
  t.match(unknown.problem, /active upstream "purple" is not configured here; serving "blue"; canary upstream "mauve" is not configured here/)
  t.equal(compileRouting(stored({ active: 'green', canary: { upstream: 'green', percentage: 50 } }), NAMES).canary, null, 'a canary onto the active upstream is no canary')
  t.equal(compileRouting(stored({ canary: { upstream: 'green', percentage: 0 } }), NAMES).canary, null, '0% is no canary')
  t.match(compileRouting(stored({ paused: true, pauseMaxMs: 1234 }), NAMES), { paused: true, pauseMaxMs: 1234 })
})

t.test('pickUpstream: the canary share over many identities, sticky for each, and the bounds 0 and 100', async (t) => {
  const at = (percentage: number) => compileRouting(stored({ canary: { upstream: 'green', percentage } }), NAMES)
  const twenty = at(20)
  let onCanary = 0
  for (let i = 0; i < 10_000; i++) {
    const key = `user-${i}`
    const side = pickUpstream(twenty, key)
    if (side === 1) onCanary++
    if (pickUpstream(twenty, key) !== side) t.fail(`${key} changed side`)
    if ((side === 1) !== (canaryBucket('green', key) <= 20)) t.fail(`${key}: side and bucket disagree`)
  }
  t.ok(Math.abs(onCanary / 10_000 - 0.2) <= 0.015, `20% canary: ${(onCanary / 100).toFixed(2)}% of 10,000 identities`)
  // Raising the percentage only adds identities: nobody on the canary at 20% leaves it at 50%.
  const fifty = at(50)
  let moved = 0
  for (let i = 0; i < 10_000; i++) if (pickUpstream(twenty, `user-${i}`) === 1 && pickUpstream(fifty, `user-${i}`) !== 1) moved++
  t.equal(moved, 0, 'a step from 20 to 50 moves nobody back')
  t.equal(pickUpstream(at(100), 'anyone'), 1)
  t.equal(pickUpstream(compileRouting(stored({ active: 'grey' }), NAMES), 'anyone'), 2, 'no canary: the active upstream')
})

/** A held request that records what happened to it. */
function held (log: string[], name: string, bytes = 100): HeldRequest {
  return { bytes, release: () => log.push(`release ${name}`), expire: () => log.push(`expire ${name}`) }
}

t.test('PauseQueue: arrival order, cancellation, expiry, and bounds in count and bytes', async (t) => {
  const log: string[] = []
  const q = new PauseQueue(3, 250)
  const a = q.hold(held(log, 'a'), 10_000)
  t.ok(q.hold(held(log, 'b'), 10_000))
  t.equal(q.hold(held(log, 'big', 60), 10_000), null, 'past the byte bound: refused, the caller answers at once')
  t.ok(q.hold(held(log, 'c', 50), 10_000))
  t.equal(q.hold(held(log, 'd', 1), 10_000), null, 'past the count bound: refused')
  t.same([q.size, q.bytes], [3, 250])
  q.cancel(a as object)
  t.same([q.size, q.bytes], [2, 150], 'a client that left frees its room')
  q.cancel(a as object)
  t.equal(q.bytes, 150, 'cancelling twice changes nothing')
  q.releaseAll()
  t.same(log, ['release b', 'release c'], 'released in arrival order; the cancelled one not at all')
  t.same([q.size, q.bytes], [0, 0])

  log.length = 0
  q.hold(held(log, 'slow'), 60)
  q.hold(held(log, 'late'), 10_000)
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.same(log, ['expire slow'], 'expired after its wait, the other still held')
  t.same([q.size, q.bytes], [1, 100])
  q.expireAll()
  t.same(log, ['expire slow', 'expire late'])
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(log.length, 2, 'no timer fires after the queue was emptied')
})

t.test('HealthMonitor: the first check decides, then rise/fall in a row; probe reasons', async (t) => {
  let status = 200
  let delayMs = 0
  const server = createServer((req, res) => { setTimeout(() => { res.writeHead(status); res.end('x') }, delayMs) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  const pool = new Pool(`http://127.0.0.1:${port}`)
  t.teardown(async () => { await pool.close(); server.close() })
  const changes: string[] = []
  const monitor = new HealthMonitor(pool, { path: '/h', host: `127.0.0.1:${port}`, timeoutMs: 200, intervalMs: 60_000, rise: 2, fall: 3 },
    (healthy, reason) => changes.push(`${healthy ? 'up' : 'down'}${reason === null ? '' : ` (${reason})`}`))
  t.equal(monitor.healthy, null, 'unknown before the first check')
  await monitor.checkNow()
  t.same([monitor.healthy, changes], [true, ['up']])
  status = 503
  await monitor.checkNow()
  await monitor.checkNow()
  t.equal(monitor.healthy, true, 'two failures with fall 3: still healthy')
  status = 200
  await monitor.checkNow()
  status = 503
  await monitor.checkNow()
  await monitor.checkNow()
  t.equal(monitor.healthy, true, 'a pass in between resets the streak')
  await monitor.checkNow()
  t.same([monitor.healthy, changes.at(-1), monitor.reason], [false, 'down (answered 503)', 'answered 503'])
  status = 200
  await monitor.checkNow()
  t.equal(monitor.healthy, false, 'one pass with rise 2: still unhealthy')
  await monitor.checkNow()
  t.equal(monitor.healthy, true)
  t.same(changes, ['up', 'down (answered 503)', 'up'])

  delayMs = 500
  t.same(await probe(pool, { path: '/h', host: 'x', timeoutMs: 100 }), { ok: false, reason: 'no answer within 100 ms' })
  const closed = new Pool('http://127.0.0.1:9')
  t.teardown(async () => { await closed.destroy() })
  const refused = await probe(closed, { path: '/h', host: 'x', timeoutMs: 1000 })
  t.equal(refused.ok, false)
  t.match(refused.reason, /^ECONNREFUSED: /)
})
