import t from 'tap'
import { Client } from 'undici'
import { gatewayFor, namedUpstream, route, sleep, upstreamsView } from './helpers.js'

/**
 * CONTRACT section 6: "A switch under load fails no request", in-flight
 * requests finish where they started, new requests go to the new side.
 * Eight keep-alive clients loop (GETs and POSTs with bodies) while the active
 * upstream goes blue → green → blue through PATCH /v1/routing.
 */

const CLIENTS = 8
/** A request that starts this long after the PATCH answered must be on the new side. */
const DRAIN_MARGIN_MS = 50

interface Sample {
  client: number
  n: number
  start: number
  end: number
  status: number
  upstream: string | undefined
  ok: boolean
  error: string | null
}

t.test('blue → green → blue under continuous load: no failed request, new requests on the new side', { timeout: 20_000 }, async (t) => {
  const jitter = (): number => Math.floor(Math.random() * 4)
  const blue = await namedUpstream(t, 'blue', { delayMs: jitter })
  const green = await namedUpstream(t, 'green', { delayMs: jitter })
  const gw = await gatewayFor(t, [blue, green])
  t.equal((await upstreamsView(gw)).routing.active, 'blue', 'the first upstream is active at first start')

  const samples: Sample[] = []
  const state = { running: true }
  const loop = async (index: number): Promise<void> => {
    const client = new Client(`http://${gw.gateway}`, { pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 3000, bodyTimeout: 3000 })
    try {
      for (let n = 0; state.running; n++) {
        const post = n % 4 === 3
        const payload = `c${index}-n${n}`
        const start = performance.now()
        const sample: Sample = { client: index, n, start, end: 0, status: 0, upstream: undefined, ok: false, error: null }
        try {
          const res = await client.request({
            path: `/load?c=${index}&n=${n}`,
            method: post ? 'POST' : 'GET',
            headers: post ? { 'content-type': 'text/plain' } : {},
            body: post ? payload : undefined
          })
          const body = await res.body.text()
          const upstream = res.headers['x-upstream']
          sample.status = res.statusCode
          sample.upstream = typeof upstream === 'string' ? upstream : undefined
          const expected = sample.upstream === undefined ? null : post ? `${sample.upstream}:${payload}` : sample.upstream
          sample.ok = res.statusCode >= 200 && res.statusCode < 300 && body === expected
          if (!sample.ok) sample.error = `status ${res.statusCode}, body ${JSON.stringify(body.slice(0, 120))}`
        } catch (err) {
          sample.error = (err as Error).message
        }
        sample.end = performance.now()
        samples.push(sample)
      }
    } finally {
      await client.close().catch(() => {})
    }
  }
  const loops = Array.from({ length: CLIENTS }, async (_, i) => { await loop(i) })

  const switches: Array<{ to: string, sent: number, answered: number }> = []
  const switchTo = async (to: string): Promise<void> => {
    const sent = performance.now()
    const routing = await route(gw, { active: to })
    const answered = performance.now()
    t.equal(routing.active, to, `PATCH answered active ${to}`)
    switches.push({ to, sent, answered })
  }
  await sleep(500)
  await switchTo('green')
  await sleep(800)
  await switchTo('blue')
  await sleep(800)
  state.running = false
  await Promise.all(loops)
  const stopped = performance.now()

  const failed = samples.filter((s) => !s.ok)
  const bySide = (list: Sample[]): string => {
    const counts: Record<string, number> = {}
    for (const s of list) counts[s.upstream ?? 'none'] = (counts[s.upstream ?? 'none'] ?? 0) + 1
    return JSON.stringify(counts)
  }
  t.equal(failed.length, 0, `${failed.length} of ${samples.length} requests failed during the switches ${bySide(samples)}; first: ${JSON.stringify(failed.slice(0, 3))}`)
  t.ok(samples.length > 200, `enough load: ${samples.length} requests in ${Math.round(stopped - (switches[0]?.sent ?? 0) + 500)} ms`)

  const first = switches[0]
  t.ok(first !== undefined)
  if (first === undefined) return
  const before = samples.filter((s) => s.end < first.sent)
  const wrongBefore = before.filter((s) => s.upstream !== 'blue')
  t.equal(wrongBefore.length, 0, `before the first switch: ${before.length} requests, ${bySide(before)}`)

  for (const [i, sw] of switches.entries()) {
    const next = switches[i + 1]
    const until = next === undefined ? stopped : next.sent
    const after = samples.filter((s) => s.start >= sw.answered + DRAIN_MARGIN_MS && s.start < until)
    const wrong = after.filter((s) => s.upstream !== sw.to)
    t.ok(after.length > 50, `switch ${i + 1} (→ ${sw.to}): ${after.length} requests started after it answered (+${DRAIN_MARGIN_MS} ms)`)
    t.equal(wrong.length, 0, `switch ${i + 1} (→ ${sw.to}, PATCH took ${Math.round(sw.answered - sw.sent)} ms): ${wrong.length} of ${after.length} later requests on the old side ${bySide(after)}`)
    // Without the margin: how many requests started after the answer still reached the old side.
    const strict = samples.filter((s) => s.start >= sw.answered && s.start < until && s.upstream !== sw.to)
    t.comment(`switch ${i + 1} → ${sw.to}: ${strict.length} requests started after the PATCH answer (no margin) still on the old side; in the PATCH window ${bySide(samples.filter((s) => s.start >= sw.sent && s.start < sw.answered))}`)
  }
  t.comment(`requests: ${samples.length} ${bySide(samples)}, failed: ${failed.length}`)
  t.equal(blue.arrivals.length + green.arrivals.length, samples.length, 'every request reached exactly one upstream once')
})
