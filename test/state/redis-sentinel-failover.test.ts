import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import t from 'tap'
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { ADMIN_TOKEN, maintenance, patch, readyz, startTraffic, warmAdmin } from './gateway-client.js'
import { client, tempDir, until } from './redis-processes.js'
import { startSentinelSet, type DataNode, type SentinelSet } from './redis-topologies.js'

/*
 * Sentinel failovers for real, the four ways a primary fails in production,
 * one after the other on one set: a primary and three replicas, each behind a
 * TCP proxy the test controls, and three sentinels (down-after 1000 ms). Two
 * `drawbridge` binaries find the primary through the sentinels while traffic
 * runs through both. For each failure: no proxied request fails, the state is
 * kept, a change is accepted soon after the promotion and reaches both
 * gateways, and /readyz does not claim ready while changes cannot be made.
 */

const DETECTION_BOUND_MS = 4500 // a probe each second, answered within 2 s, plus slack for a loaded machine
const dir = tempDir(t, 'redis-sentinel-failover')

interface Attempt { start: number, end: number, status: number | string, message: string }
interface Sample { at: number, status: number, version?: number }

interface SentinelEvent { at: number, channel: string, text: string }

/** Timestamps (performance.now) of the sentinels' events, all three sentinels listened to. */
async function listenToSentinels (set: SentinelSet): Promise<SentinelEvent[]> {
  const events: SentinelEvent[] = []
  for (const s of set.sentinels) {
    const sub = await client(t, { port: s.port })
    sub.on('message', (channel: string, text: string) => { events.push({ at: performance.now(), channel, text }) })
    await sub.subscribe('+promoted-slave', '+switch-master')
  }
  return events
}

/** /readyz of each gateway every 100 ms until stopped. */
function sampleReadiness (gateways: SpawnedGateway[]): { samples: Map<SpawnedGateway, Sample[]>, stop: () => Promise<void> } {
  const samples = new Map<SpawnedGateway, Sample[]>(gateways.map((gw) => [gw, []]))
  const state = { running: true }
  const loops = gateways.map(async (gw) => {
    while (state.running) {
      const at = performance.now()
      try {
        const r = await readyz(gw)
        samples.get(gw)?.push({ at, status: r.status, ...(r.body.version === undefined ? {} : { version: r.body.version }) })
      } catch {
        samples.get(gw)?.push({ at, status: 0 })
      }
      await sleep(100)
    }
  })
  return { samples, stop: async () => { state.running = false; await Promise.all(loops) } }
}

/** A PATCH every 100 ms (not waiting for the previous one) until `done`. */
async function writeUntil (gw: SpawnedGateway, mode: string, done: () => boolean, timeoutMs: number): Promise<Attempt[]> {
  const attempts: Attempt[] = []
  const inFlight = new Set<Promise<void>>()
  const started = performance.now()
  let n = 0
  while (!done() && performance.now() - started < timeoutMs) {
    const message = `${mode} #${++n}`
    const start = performance.now()
    const p = patch(gw, { message }, 5000)
      .then((status) => { attempts.push({ start, end: performance.now(), status, message }) })
      .catch((err: Error) => { attempts.push({ start, end: performance.now(), status: err.message, message }) })
      .finally(() => { inFlight.delete(p) })
    inFlight.add(p)
    await sleep(100)
  }
  await Promise.all(inFlight)
  return attempts
}

interface Promotion {
  /** When a sentinel announced +promoted-slave. */
  at: number
  node: DataNode
  /** When the promoted node first held a state newer than the one it had when promoted: a change accepted by the new primary. */
  changedAt: number | null
}

/**
 * Waits for the sentinels to promote a replica, then polls that node's state
 * version (on its own port, past any proxy) until a change lands on it. A
 * write the old primary took after the promotion does not count: with a
 * forced failover it stays writable until the sentinels demote it.
 */
function watchPromotion (set: SentinelSet, events: SentinelEvent[], since: number, timeoutMs: number): { current: Promotion | null, done: Promise<void> } {
  const watch: { current: Promotion | null, done: Promise<void> } = { current: null, done: Promise.resolve() }
  watch.done = (async () => {
    let event: SentinelEvent | undefined
    await until('a replica promoted', async () => (event = events.find((e) => e.channel === '+promoted-slave' && e.at >= since)) !== undefined, timeoutMs, 10)
    const promoted = event as SentinelEvent
    // "slave 127.0.0.1:6381 127.0.0.1 6381 @ name 127.0.0.1 6379"
    const node = set.nodes.find((n) => n.address === Number(promoted.text.split(' ')[3]))
    if (node === undefined) throw new Error(`promoted an unknown node: ${promoted.text}`)
    const direct = await client(t, { port: node.server.port, commandTimeout: 1000 })
    const held = Number(await direct.get('drawbridge:version'))
    watch.current = { at: promoted.at, node, changedAt: null }
    await until('a change on the new primary', async () => Number(await direct.get('drawbridge:version')) > held, timeoutMs, 10)
    watch.current.changedAt = performance.now()
  })()
  return watch
}

t.test('Sentinel failovers under traffic: failover, frozen, killed, network-silent', async (t) => {
  const set = await startSentinelSet(t, dir, { replicas: 3, proxies: true, downAfterMs: 1000 })
  const events = await listenToSentinels(set)
  const asker: Redis = await client(t, { port: (set.sentinels[0] as { port: number }).port })
  const upstream = await startUpstream(t)
  const config = join(dir, 'drawbridge.json')
  writeFileSync(config, JSON.stringify({ redis: { name: set.name, sentinels: set.sentinels } }))
  const args = ['--upstream', upstream.url, '--admin-token', ADMIN_TOKEN, '--config', config]
  const [a, b] = await Promise.all([spawnGateway(t, args), spawnGateway(t, args)]) as [SpawnedGateway, SpawnedGateway]
  await warmAdmin(a, b)
  t.equal(await patch(a, { message: 'before any failure', allow: ['10.9.8.0/24'] }), 200)

  // Paced (a request every 5 ms per gateway) so the load does not starve the sentinels on a small machine.
  const load = startTraffic([a, b], { pauseMs: 5 })
  const readiness = sampleReadiness([a, b])
  const report: string[] = []
  const modes: Array<{ name: string, fail: (node: DataNode) => Promise<unknown> | unknown }> = [
    { name: 'SENTINEL FAILOVER', fail: async () => await asker.call('SENTINEL', 'FAILOVER', set.name) },
    { name: 'frozen (SIGSTOP)', fail: (node) => node.server.proc.kill('SIGSTOP') },
    { name: 'killed (SIGKILL)', fail: (node) => node.server.proc.kill('SIGKILL') },
    { name: 'network-silent (black-holed)', fail: (node) => { node.proxy?.blackhole() } }
  ]

  for (const mode of modes) {
    await t.test(mode.name, async (t) => {
      const settling = performance.now()
      const old = await set.settled()
      const settledMs = performance.now() - settling
      await until('both gateways ready', async () => (await readyz(a)).status === 200 && (await readyz(b)).status === 200)
      t.comment(`sentinels settled in ${settledMs.toFixed(0)} ms, gateways ready ${(performance.now() - settling - settledMs).toFixed(0)} ms later`)
      const before = (await readyz(a)).body.version ?? 0

      const failedAt = performance.now()
      await mode.fail(old)
      const promotion = watchPromotion(set, events, failedAt, 20_000)
      const attempts = await writeUntil(a, mode.name, () => promotion.current?.changedAt != null, 20_000)
      await promotion.done.catch((err: Error) => { t.fail(err.message) })
      const promoted = promotion.current
      if (promoted?.changedAt == null) return
      const gap = promoted.changedAt - promoted.at
      const switched = events.find((e) => e.channel === '+switch-master' && e.at >= failedAt)?.at ?? NaN
      const refused = attempts.filter((x) => x.status !== 200).length

      // The change reaches both gateways, and nothing older comes back.
      const final = `${mode.name}: settled`
      await until('a final change accepted', async () => await patch(a, { message: final }, 5000) === 200, 10_000)
      const seenMs = await until('both gateways hold the final change', async () =>
        (await maintenance(a)).message === final && (await maintenance(b)).message === final, 5000, 20)
      // A connection that the failover dropped may still be coming back (its
      // probe answers first): /readyz says so until then, which is honest.
      const readyMs = await until('both gateways ready again', async () => (await readyz(a)).status === 200 && (await readyz(b)).status === 200, 5000, 50).catch(() => NaN)
      t.comment(`${mode.name}: both gateways ready ${readyMs.toFixed(0)} ms after both held the final change`)
      const after = await Promise.all([readyz(a), readyz(b)])
      for (const r of after) {
        t.equal(r.status, 200, `ready after the failover${r.body.reason === undefined ? '' : ` (${r.body.reason})`}`)
        t.ok((r.body.version ?? 0) > before, `state kept and moved on (version ${before} → ${String(r.body.version)})`)
      }
      const newMaster = await set.master()
      t.equal(newMaster, promoted.node, 'the promoted replica is the primary the sentinels name')
      t.not(newMaster, old, 'a new primary')
      const stored = JSON.parse(await (await client(t, { port: newMaster.server.port })).get('drawbridge:state') ?? '{}') as { maintenance?: { message?: string, allow?: string[] } }
      t.match(stored.maintenance, { message: final, allow: ['10.9.8.0/24'] }, 'the new primary holds the state, older fields included')

      // /readyz: after the detection bound and until a change was accepted again, never 200.
      const dishonest: string[] = []
      const unready: string[] = []
      for (const [gw, samples] of readiness.samples) {
        const window = samples.filter((s) => s.at >= failedAt && s.at <= (promoted.changedAt ?? 0))
        const lying = window.filter((s) => s.status === 200 && s.at > failedAt + DETECTION_BOUND_MS && s.at < promoted.at)
        if (lying.length > 0) dishonest.push(`${gw.admin}: 200 at +${((lying[0]?.at ?? 0) - failedAt).toFixed(0)} ms`)
        const first503 = window.find((s) => s.status === 503)
        unready.push(first503 === undefined ? 'never 503' : `503 from +${(first503.at - failedAt).toFixed(0)} ms`)
      }
      t.same(dishonest, [], '/readyz never claimed ready while the store could not take a change (past the detection bound)')
      t.ok(gap < 8000, `promotion → first change accepted by the new primary: ${gap.toFixed(0)} ms (goal < 5000)`)
      report.push(`${mode.name}: failure → promotion ${(promoted.at - failedAt).toFixed(0)} ms (+switch-master at ${(switched - failedAt).toFixed(0)} ms); ` +
        `promotion → first change accepted by the new primary ${gap.toFixed(0)} ms; ${refused} of ${attempts.length} PATCHes refused (503) meanwhile; ` +
        `both gateways held the next change after ${seenMs.toFixed(0)} ms; /readyz ${unready.join(', ')}`)
    })
  }

  await readiness.stop()
  const { served, failures } = await load.stop()
  t.same(failures, [], `no proxied request failed through four failovers (${served} served)`)
  for (const line of report) t.comment(line)
})
