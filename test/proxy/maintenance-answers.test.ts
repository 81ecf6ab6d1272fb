import t from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { fetchText, rawRequest, startGateway } from './helpers.js'

t.test('503 page: HTML, JSON, HEAD; Retry-After; no-store', async (t) => {
  let proxied = 0
  const upstream = await startUpstream(t, (_req, res) => { proxied++; res.end('app') })
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true, message: 'Upgrading <the> database', retryAfter: 300 })

  const html = await fetchText(`${gw.url}/orders`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
  t.equal(html.status, 503)
  t.equal(html.headers['retry-after'], '300')
  t.equal(html.headers['cache-control'], 'no-store')
  t.equal(html.headers['content-type'], 'text/html; charset=utf-8')
  t.match(html.text, /Upgrading &lt;the&gt; database/, 'message HTML-escaped into the page')
  t.notMatch(html.text, /\{\{/, 'no placeholder left')

  const json = await fetchText(`${gw.url}/api/orders`, { headers: { accept: 'application/json' } })
  t.equal(json.status, 503)
  t.equal(json.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(json.headers['retry-after'], '300')
  t.same(JSON.parse(json.text), { error: 'maintenance', message: 'Upgrading <the> database', retryAfter: 300, endsAt: null })

  const head = await fetchText(`${gw.url}/`, { method: 'HEAD' })
  t.equal(head.status, 503)
  t.equal(head.text, '')
  t.equal(head.headers['retry-after'], '300')

  const post = await fetchText(`${gw.url}/orders`, { method: 'POST', body: 'x'.repeat(10_000) })
  t.equal(post.status, 503, 'a request body is not a way around it')
  t.equal(proxied, 0)
  t.match(gw.ctx.metrics.render(), /drawbridge_requests_total\{decision="block",rule="maintenance"\} 4/)
})

t.test('Retry-After and the page count down to endsAt', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  const endsAt = new Date(Date.now() + 90_000)
  await gw.setMaintenance({ enabled: true, endsAt: endsAt.toISOString() })
  const res = await fetchText(`${gw.url}/`, { headers: { accept: 'application/json' } })
  const retry = Number(res.headers['retry-after'])
  t.ok(retry > 80 && retry <= 90, `Retry-After ${retry} from endsAt`)
  const body = JSON.parse(res.text) as { retryAfter: number, endsAt: string }
  t.equal(body.retryAfter, retry)
  t.equal(body.endsAt, endsAt.toISOString())
  const page = await fetchText(`${gw.url}/`)
  t.match(page.text, `datetime="${endsAt.toISOString()}"`, 'the page carries the absolute endsAt for its countdown')
})

t.test('the page template can be replaced with --page', async (t) => {
  const { mkdtempSync, writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-page-'))
  const file = join(dir, 'page.html')
  writeFileSync(file, '<p>{{message}} / {{retryAfter}} / {{endsAt}}</p>')
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url, ['--page', file])
  await gw.setMaintenance({ enabled: true, message: 'a&b', retryAfter: 60, endsAt: '2099-01-01T00:00:00Z' })
  t.equal((await fetchText(`${gw.url}/`)).text, '<p>a&amp;b / 60 / 2099-01-01T00:00:00.000Z</p>')
})

t.test('redirect answers 307', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true, redirect: 'https://status.example.com/' })
  const res = await fetchText(`${gw.url}/anything`)
  t.equal(res.status, 307)
  t.equal(res.headers.location, 'https://status.example.com/')
})

t.test('read-only mode lets safe methods through', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true, mode: 'read-only' })
  t.equal((await fetchText(`${gw.url}/x`)).status, 200)
  t.equal((await fetchText(`${gw.url}/x`, { method: 'HEAD' })).status, 200)
  t.equal((await fetchText(`${gw.url}/x`, { method: 'OPTIONS' })).status, 200)
  t.equal((await fetchText(`${gw.url}/x`, { method: 'POST', body: 'a' })).status, 503)
  t.equal((await fetchText(`${gw.url}/x`, { method: 'DELETE' })).status, 503)
})

t.test('exceptPaths and paths scope, matched after normalisation', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true, exceptPaths: ['/health'] })
  t.equal((await rawRequest(gw.url, '/health')).status, 200)
  t.equal((await rawRequest(gw.url, '/health/live?x=1')).status, 200)
  t.equal((await rawRequest(gw.url, '/a/../health')).status, 200)
  // Ambiguous to upstream parsers (a host, an encoded separator): refused, never proxied.
  t.equal((await rawRequest(gw.url, '//health')).status, 400)
  t.equal((await rawRequest(gw.url, '/%2Fhealth')).status, 400)
  t.equal((await rawRequest(gw.url, '/health-admin')).status, 503)
  t.equal((await rawRequest(gw.url, '/health/../admin')).status, 503)
  t.equal((await rawRequest(gw.url, '/health/%2e%2e/admin')).status, 503)
  t.equal((await rawRequest(gw.url, '/health%2F..%2Fadmin')).status, 400)

  await gw.setMaintenance({ exceptPaths: [], paths: ['/api'] })
  t.equal((await rawRequest(gw.url, '/web')).status, 200)
  t.equal((await rawRequest(gw.url, '/api/x')).status, 503)
  t.equal((await rawRequest(gw.url, '/web/../api/x')).status, 503)
  t.equal((await rawRequest(gw.url, '/%61pi/x')).status, 503)
})

t.test('scheduled window', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true, startsAt: new Date(Date.now() + 60_000).toISOString() })
  t.equal((await fetchText(`${gw.url}/`)).status, 200, 'before the window')
  await gw.setMaintenance({ startsAt: new Date(Date.now() - 1000).toISOString(), endsAt: new Date(Date.now() + 400).toISOString() })
  t.equal((await fetchText(`${gw.url}/`)).status, 503, 'inside')
  await new Promise((resolve) => setTimeout(resolve, 450))
  t.equal((await fetchText(`${gw.url}/`)).status, 200, 'after endsAt, with no state change')
})

t.test('toggling maintenance takes effect on the next request', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  t.equal((await fetchText(`${gw.url}/`)).status, 200)
  await gw.setMaintenance({ enabled: true })
  t.equal((await fetchText(`${gw.url}/`)).status, 503)
  await gw.setMaintenance({ enabled: false })
  t.equal((await fetchText(`${gw.url}/`)).status, 200)
})

t.test('fail policy before any state has loaded', async (t) => {
  const upstream = await startUpstream(t, (_req, res) => { res.end('app') })
  const open = await startGateway(t, upstream.url, ['--fail-policy', 'open'], { holderStart: false })
  t.equal((await fetchText(`${open.url}/`)).text, 'app')
  const closed = await startGateway(t, upstream.url, ['--fail-policy', 'closed'], { holderStart: false })
  const res = await fetchText(`${closed.url}/`, { headers: { accept: 'application/json' } })
  t.equal(res.status, 503)
  t.equal(res.headers['retry-after'], '5')
  await closed.ctx.holder.start()
  t.equal((await fetchText(`${closed.url}/`)).text, 'app', 'loaded state (maintenance off) replaces the policy')
})

t.test('the client address is read only when something needs it: an allowlist, a request let through, the access log', async (t) => {
  const { Socket } = await import('node:net')
  const { Writable } = await import('node:stream')
  const { createLogger } = await import('../../src/logger.js')
  const { buildGateway } = await import('../../src/proxy/gateway.js')
  // Counts getpeername() on the gateway's accepted sockets (they have a server); clients' sockets are not counted.
  type ServerSide = InstanceType<typeof Socket> & { server?: unknown }
  const proto = Socket.prototype as unknown as { _getpeername: (this: ServerSide) => unknown }
  const original = proto._getpeername
  let reads = 0
  proto._getpeername = function (this: ServerSide) {
    if (this.server != null) reads++
    return original.call(this)
  }
  t.teardown(() => { proto._getpeername = original })
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true })
  for (let i = 0; i < 5; i++) t.equal((await rawRequest(gw.url, `/blocked/${i}`)).status, 503)
  t.equal(reads, 0, 'five refusals on five new connections: the kernel was not asked for the peer')
  await gw.setMaintenance({ allow: ['10.0.0.0/8'] })
  t.equal((await rawRequest(gw.url, '/blocked')).status, 503)
  t.ok(reads > 0, 'with an allowlist the decision reads the address')
  await gw.setMaintenance({ allow: ['127.0.0.0/8'] })
  const echo = JSON.parse((await rawRequest(gw.url, '/allowed')).text) as { headers: Record<string, string> }
  t.equal(echo.headers['x-forwarded-for'], '127.0.0.1', 'let through: the upstream is told the client address')
  await gw.setMaintenance({ allow: [] })
  // The access log names the client of a refused request too.
  const lines: string[] = []
  const logger = createLogger('info', new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } }))
  const capture = await buildGateway({ ...gw.ctx, logger, config: { ...gw.ctx.config, accessLogSample: 1 } })
  const address = await capture.listen('127.0.0.1', 0)
  t.teardown(async () => { await capture.close(0) })
  t.equal((await rawRequest(`http://${address}`, '/logged')).status, 503)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.match(lines.join(''), /"path":"\/logged","status":503,.*"ip":"127\.0\.0\.1","rule":"maintenance"/, 'logged with its address')
})
