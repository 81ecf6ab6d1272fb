import { request as httpRequest } from 'node:http'
import t, { type Test } from 'tap'
import type { SpawnedGateway } from '../helpers/spawn-gateway.js'
import { admin, gatewayFor, hit, namedUpstream, route, sleep, upstreamsView, waitFor, type Hit } from './helpers.js'

/**
 * CONTRACT section 6: while paused, requests that would be proxied are held
 * until the pause ends (then forwarded in arrival order to the active
 * upstream) or until they waited pauseMaxMs (then the maintenance 503).
 * Reserved paths and exceptPaths are never held; --pause-max-held bounds them.
 */

/** A request whose outcome is watched: `settled` says whether it has been answered yet. */
function watch (promise: Promise<Hit>): { promise: Promise<Hit>, settled: () => boolean } {
  let done = false
  const wrapped = promise.finally(() => { done = true })
  wrapped.catch(() => {})
  return { promise: wrapped, settled: () => done }
}

t.test('a held request reaches nobody until resume, then completes (body intact)', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await gatewayFor(t, [blue, green])

  const paused = await route(gw, { paused: true })
  t.equal(paused.paused, true, 'PATCH answers paused: true')
  t.equal(paused.pauseMaxMs, 30000, 'default pauseMaxMs: 30 s')
  const sentAt = performance.now()
  const held = watch(hit(gw, '/held', { method: 'POST', body: 'payload-123', headers: { 'content-type': 'text/plain' }, timeoutMs: 8000 }))
  await sleep(300)
  t.notOk(held.settled(), 'not answered after 300 ms')
  t.equal(blue.arrivals.length + green.arrivals.length, 0, 'and it has reached no upstream')
  t.equal((await upstreamsView(gw)).held, 1, 'GET /v1/upstreams counts it as held')
  t.equal((await upstreamsView(gw)).routing.paused, true)

  const resumedAt = performance.now()
  await route(gw, { paused: false })
  const answer = await held.promise
  const doneAt = performance.now()
  t.equal(answer.status, 200, 'answered after resume')
  t.equal(answer.upstream, 'blue')
  t.equal(answer.body, 'blue:payload-123', 'the held body reached the upstream whole')
  t.ok(doneAt - resumedAt < 1000, `completed ${Math.round(doneAt - resumedAt)} ms after the resume PATCH was sent (held ${Math.round(resumedAt - sentAt)} ms)`)
  t.equal((await upstreamsView(gw)).held, 0)
  t.equal((await hit(gw, '/after')).status, 200, 'after resume nothing is held')
})

/** Pauses, sends COUNT requests 25 ms apart, optionally switches while paused, resumes; the answers. */
async function holdAndRelease (t: Test, gw: SpawnedGateway, tag: string, count: number, switchTo?: string): Promise<Hit[]> {
  await route(gw, { paused: true })
  const requests: Array<ReturnType<typeof watch>> = []
  for (let i = 0; i < count; i++) {
    requests.push(watch(hit(gw, `/${tag}/${i}`, { timeoutMs: 8000 })))
    await sleep(25)
  }
  t.ok(await waitFor(async () => (await upstreamsView(gw)).held === count, 2000), `${count} requests held (${tag})`)
  if (switchTo !== undefined) await route(gw, { active: switchTo })
  await route(gw, { paused: false })
  return await Promise.all(requests.map(async (r) => await r.promise))
}

t.test('held requests are released in arrival order, to the upstream active at resume', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  // Over several connections the upstream may read concurrent requests in any
  // order; over one, it reads them in the order the gateway released them.
  const gw = await gatewayFor(t, [blue, green], { args: ['--upstream-connections', '1'] })
  const COUNT = 10
  const expected = (tag: string): string[] => Array.from({ length: COUNT }, (_, i) => `/${tag}/${i}`)
  const order = (list: Array<{ url: string }>, tag: string): string => list.filter((a) => a.url.startsWith(`/${tag}/`)).map((a) => a.url.slice(tag.length + 2)).join(',')

  // Warm: the gateway already has connections to blue.
  for (let i = 0; i < 3; i++) await hit(gw, '/warm')
  const warm = await holdAndRelease(t, gw, 'warm', COUNT)
  t.same(warm.map((a) => a.status), Array(COUNT).fill(200), 'every held request answered 200')
  t.same(blue.arrivals.filter((a) => a.url.startsWith('/warm/')).map((a) => a.url), expected('warm'), `warm pool, arrival order at blue: ${order(blue.arrivals, 'warm')}`)

  // Cold: switched to green while paused, so the released requests are green's first.
  const cold = await holdAndRelease(t, gw, 'cold', COUNT, 'green')
  t.same(cold.map((a) => a.status), Array(COUNT).fill(200), 'every held request answered 200')
  t.same(cold.map((a) => a.upstream), Array(COUNT).fill('green'), 'all released to green, active at resume')
  t.equal(blue.arrivals.filter((a) => a.url.startsWith('/cold/')).length, 0, 'none reached blue')
  t.same(green.arrivals.map((a) => a.url), expected('cold'), `cold pool (green's first requests), arrival order at green: ${order(green.arrivals, 'cold')}`)
})

t.test('pauseMaxMs 500: a held request gets the maintenance 503 after ~500 ms', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await gatewayFor(t, [blue, green])
  const routing = await route(gw, { paused: true, pauseMaxMs: 500 })
  t.equal(routing.pauseMaxMs, 500)
  const html = await hit(gw, '/slow', { timeoutMs: 5000 })
  t.equal(html.status, 503, 'the maintenance 503')
  t.ok(html.ms >= 450 && html.ms < 1500, `answered after ${Math.round(html.ms)} ms (pauseMaxMs 500)`)
  t.match(String(html.headers['content-type']), /text\/html/, 'the HTML maintenance page')
  t.equal(html.headers['cache-control'], 'no-store')
  const json = await hit(gw, '/slow.json', { headers: { accept: 'application/json' }, timeoutMs: 5000 })
  t.equal(json.status, 503)
  t.ok(json.ms >= 450 && json.ms < 1500, `JSON client answered after ${Math.round(json.ms)} ms`)
  t.equal((JSON.parse(json.body) as { error?: string }).error, 'maintenance', `maintenance JSON body: ${json.body.slice(0, 200)}`)
  t.equal(blue.arrivals.length + green.arrivals.length, 0, 'neither timed-out request reached an upstream')
  await route(gw, { paused: false })
  await sleep(100)
  t.equal(blue.arrivals.length + green.arrivals.length, 0, 'nor after the resume')
  t.equal((await hit(gw, '/after')).upstream, 'blue')
})

t.test('reserved paths and exceptPaths are never held', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await gatewayFor(t, [blue, green])
  const except = await admin(gw, 'PATCH', '/v1/maintenance', { exceptPaths: ['/health'] })
  t.equal(except.status, 200, 'exceptPaths set with maintenance off')
  t.equal(except.body.enabled, false)
  await route(gw, { paused: true })

  const status = await hit(gw, '/__drawbridge/status', { timeoutMs: 2000 })
  t.equal(status.status, 200, 'reserved status path answered while paused')
  t.ok(status.ms < 300, `in ${Math.round(status.ms)} ms`)
  const health = await hit(gw, '/health', { timeoutMs: 2000 })
  t.equal(health.status, 200)
  t.equal(health.upstream, 'blue', 'an exceptPaths path is proxied at once while paused')
  t.ok(health.ms < 300, `in ${Math.round(health.ms)} ms`)
  const deeper = await hit(gw, '/health/live', { timeoutMs: 2000 })
  t.equal(deeper.upstream, 'blue', 'and a path under it')

  const other = watch(hit(gw, '/healthy', { timeoutMs: 8000 }))
  await sleep(300)
  t.notOk(other.settled(), '/healthy is not under /health: held')
  t.same(blue.arrivals.map((a) => a.url), ['/health', '/health/live'], 'only the exceptPaths requests reached the upstream')
  await route(gw, { paused: false })
  t.equal((await other.promise).status, 200)
})

t.test('--pause-max-held 2: the third request is answered 503 at once', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await gatewayFor(t, [blue, green], { args: ['--pause-max-held', '2'] })
  await route(gw, { paused: true })
  const first = watch(hit(gw, '/one', { timeoutMs: 8000 }))
  const second = watch(hit(gw, '/two', { timeoutMs: 8000 }))
  t.ok(await waitFor(async () => (await upstreamsView(gw)).held === 2, 2000), 'two requests held')
  const third = await hit(gw, '/three', { timeoutMs: 3000 })
  t.equal(third.status, 503, 'the third: 503')
  t.ok(third.ms < 300, `at once: ${Math.round(third.ms)} ms`)
  t.notOk(first.settled() || second.settled(), 'the first two still held')
  await route(gw, { paused: false })
  t.same([(await first.promise).status, (await second.promise).status], [200, 200], 'the first two complete after resume')
  t.same(blue.arrivals.map((a) => a.url).sort(), ['/one', '/two'], 'the refused one never reached the upstream')
})

t.test('a client that disconnects while held is not forwarded later', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await gatewayFor(t, [blue, green])
  await route(gw, { paused: true })
  const [host, port] = gw.gateway.split(':') as [string, string]
  const gone = httpRequest({ host, port, path: '/gone', method: 'GET', agent: false })
  gone.on('error', () => {})
  gone.end()
  const kept = watch(hit(gw, '/kept', { timeoutMs: 8000 }))
  t.ok(await waitFor(async () => (await upstreamsView(gw)).held === 2, 2000), 'both held')
  gone.destroy()
  const dropped = await waitFor(async () => (await upstreamsView(gw)).held === 1, 2000)
  t.ok(dropped, 'the disconnected one leaves the held count')
  await route(gw, { paused: false })
  t.equal((await kept.promise).status, 200)
  await sleep(300)
  t.same(blue.arrivals.map((a) => a.url), ['/kept'], `only the connected client's request was forwarded (${blue.arrivals.map((a) => a.url).join(',')})`)
})
