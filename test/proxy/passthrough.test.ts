import { request as httpRequest } from 'node:http'
import t from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { fetchText, rawRequest, startGateway } from './helpers.js'

interface Echo { method: string, url: string, headers: Record<string, string>, body: string }

t.test('proxies every method with path, query and body; base path kept', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, `${upstream.url}/base/`)
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
    const body = method === 'GET' || method === 'OPTIONS' ? undefined : `payload-${method}`
    const res = await fetchText(`${gw.url}/a/b?x=1&y=%2F`, { method, body })
    t.equal(res.status, 200, method)
    const echo = JSON.parse(res.text) as Echo
    t.equal(echo.method, method)
    t.equal(echo.url, '/base/a/b?x=1&y=%2F', 'base path + raw path and query')
    t.equal(echo.body, body ?? '')
  }
  const head = await fetchText(`${gw.url}/a`, { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.text, '')
})

t.test('the upstream sees the normalised path the gateway decided on, and the query as sent', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  const echo = JSON.parse((await rawRequest(gw.url, '/a/%2e%2e/b//c?x=/../y')).text) as Echo
  t.equal(echo.url, '/b/c?x=/../y')
  const clean = JSON.parse((await rawRequest(gw.url, '/a/b%20c?q=1')).text) as Echo
  t.equal(clean.url, '/a/b%20c?q=1', 'a clean target is forwarded unchanged')
})

t.test('forwarding headers', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  const res = await rawRequest(gw.url, '/h', {
    headers: {
      'x-forwarded-for': '198.51.100.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'evil.example',
      'x-drawbridge-bypass': 'not-forwarded',
      'x-drawbridge-flags': 'forged=on',
      'x-custom': 'kept',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      te: 'trailers',
      connection: 'keep-alive, x-hop',
      'x-hop': 'dropped because Connection names it',
      host: 'app.example.com'
    }
  })
  const headers = (JSON.parse(res.text) as Echo).headers
  t.equal(headers['x-forwarded-for'], '127.0.0.1', 'an untrusted peer\'s chain is replaced by the peer')
  t.equal(headers['x-forwarded-proto'], 'http', 'an untrusted peer does not choose the proto')
  t.equal(headers['x-forwarded-host'], 'app.example.com', 'original Host')
  t.equal(headers.host, `127.0.0.1:${upstream.port}`, 'Host is the upstream')
  t.equal(headers['x-custom'], 'kept')
  for (const dropped of ['x-drawbridge-bypass', 'x-drawbridge-flags', 'proxy-authorization', 'te', 'x-hop']) {
    t.equal(headers[dropped], undefined, `${dropped} dropped`)
  }
})

t.test('trusted proxy keeps X-Forwarded-Proto/-Host', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url, ['--trusted-proxies', '127.0.0.0/8'])
  const res = await fetchText(`${gw.url}/h`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'public.example', 'x-forwarded-for': '203.0.113.5' } })
  const headers = (JSON.parse(res.text) as Echo).headers
  t.equal(headers['x-forwarded-proto'], 'https')
  t.equal(headers['x-forwarded-host'], 'public.example')
  t.equal(headers['x-forwarded-for'], '203.0.113.5, 127.0.0.1')
})

t.test('response headers: hop-by-hop dropped, the rest (set-cookie twice) kept', async (t) => {
  const upstream = await startUpstream(t, (_req, res) => {
    res.writeHead(201, 'Made', [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x-app', 'yes'], ['keep-alive', 'timeout=5'], ['proxy-authenticate', 'Basic'], ['x-secret-hop', '1'], ['connection', 'x-secret-hop']])
    res.end('created')
  })
  const gw = await startGateway(t, upstream.url)
  const res = await fetchText(`${gw.url}/`)
  t.equal(res.status, 201)
  t.equal(res.text, 'created')
  t.same(res.headers['set-cookie'], ['a=1', 'b=2'])
  t.equal(res.headers['x-app'], 'yes')
  t.equal(res.headers['proxy-authenticate'], undefined)
  t.equal(res.headers['x-secret-hop'], undefined)
})

t.test('flags resolver: header added, gate answered without proxying', async (t) => {
  let proxied = 0
  const upstream = await startUpstream(t, (req, res) => { proxied++; res.end(String(req.headers['x-drawbridge-flags'] ?? '')) })
  const seen: Array<[string, string]> = []
  const gw = await startGateway(t, upstream.url, [], {
    requestFlags: {
      resolve (_req, path, ip) {
        seen.push([path, ip])
        return path.startsWith('/v2') ? { header: '', gateStatus: 404 } : { header: 'new-checkout,theme=dark', gateStatus: 0 }
      }
    }
  })
  const a = await fetchText(`${gw.url}/a/../shop`, { headers: { 'x-drawbridge-flags': 'forged' } })
  t.equal(a.text, 'new-checkout,theme=dark')
  const gated = await fetchText(`${gw.url}/v2/orders`)
  t.equal(gated.status, 404)
  t.equal(proxied, 1, 'gated request not proxied')
  t.same(seen[0], ['/shop', '127.0.0.1'], 'resolver gets the normalised path and client ip')
  t.match(gw.ctx.metrics.render(), /drawbridge_requests_total\{decision="gate",rule="flag-gate"\} 1/)
})

t.test('reserved paths are answered by drawbridge, never proxied', async (t) => {
  let proxied = 0
  const upstream = await startUpstream(t, (_req, res) => { proxied++; res.end('upstream') })
  const gw = await startGateway(t, upstream.url)
  const status = await fetchText(`${gw.url}/__drawbridge/status`)
  t.equal(status.status, 200)
  t.same(JSON.parse(status.text), { maintenance: false, retryAfter: null, endsAt: null, message: null, progress: null })
  t.equal(status.headers['cache-control'], 'no-store')
  await gw.setMaintenance({ enabled: true, message: 'Upgrading', endsAt: new Date(Date.now() + 120_000).toISOString() })
  const on = JSON.parse((await fetchText(`${gw.url}/__drawbridge/status`)).text) as { maintenance: boolean, retryAfter: number, message: string }
  t.equal(on.maintenance, true)
  t.ok(on.retryAfter > 100 && on.retryAfter <= 120, 'retryAfter from endsAt')
  t.equal(on.message, 'Upgrading')
  t.equal((await fetchText(`${gw.url}/__drawbridge/other`)).status, 404)
  t.equal((await fetchText(`${gw.url}/x/../__drawbridge/other`)).status, 404, 'normalised reserved path is not proxied either')
  t.equal(proxied, 0)
})

t.test('metrics: decisions counted, upstream latency observed', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  await fetchText(`${gw.url}/`)
  await fetchText(`${gw.url}/`)
  const text = gw.ctx.metrics.render()
  t.match(text, /drawbridge_requests_total\{decision="pass",rule="maintenance-off"\} 2/)
  t.match(text, /drawbridge_upstream_response_seconds_count 2/)
})

t.test('keep-alive client: many requests on one connection', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  const { Agent } = await import('node:http')
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  let sockets = 0
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/n/${i}`, { agent }, (res) => { res.resume(); res.on('end', resolve) })
      req.on('socket', (s) => { if (!(s as unknown as { counted?: boolean }).counted) { sockets++; (s as unknown as { counted: boolean }).counted = true } })
      req.on('error', reject)
      req.end()
    })
  }
  t.equal(sockets, 1)
})

t.test('malformed requests get 400 and the gateway keeps serving', async (t) => {
  const { connect } = await import('node:net')
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  const [host, port] = [gw.address.split(':')[0] as string, Number(gw.address.split(':')[1])]
  for (const raw of ['GARBAGE\r\n\r\n', 'GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n', 'GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n']) {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(port, host, () => { socket.write(raw) })
      let data = ''
      socket.on('data', (c: Buffer) => { data += c.toString() })
      socket.on('close', () => { resolve(data) })
      socket.on('error', () => { resolve(data) })
    })
    t.match(answer, /^HTTP\/1\.1 400 /, JSON.stringify(raw))
  }
  t.equal((await fetchText(`${gw.url}/`)).status, 200)
})

t.test('IPv6 listener: bracketed address, unmapped IPv4 peers in X-Forwarded-For', async (t) => {
  const upstream = await startUpstream(t)
  const { loadConfig } = await import('../../src/config/load.js')
  const { createLogger } = await import('../../src/logger.js')
  const { createStore } = await import('../../src/state/create-store.js')
  const { StateHolder } = await import('../../src/state/state-holder.js')
  const { DrawbridgeEvents } = await import('../../src/events.js')
  const { Metrics } = await import('../../src/metrics.js')
  const { buildGateway } = await import('../../src/proxy/gateway.js')
  const config = loadConfig(['--upstream', upstream.url], {})
  const logger = createLogger('silent')
  const store = createStore(config, logger)
  const holder = new StateHolder(store, logger)
  await holder.start()
  const gateway = await buildGateway({ config, logger, store, holder, events: new DrawbridgeEvents(), metrics: new Metrics(), appliedMigrations: null })
  t.teardown(async () => { await gateway.close(0); holder.stop(); await store.close() })
  let address: string
  try {
    address = await gateway.listen('::', 0)
  } catch {
    t.comment('no IPv6 on this machine: skipped')
    return
  }
  t.match(address, /^\[::\]:\d+$/)
  const port = address.slice(address.lastIndexOf(':') + 1)
  const echo = JSON.parse((await fetchText(`http://127.0.0.1:${port}/`)).text) as Echo
  t.equal(echo.headers['x-forwarded-for'], '127.0.0.1', 'dual-stack peer ::ffff:127.0.0.1 written as 127.0.0.1')
})

t.test('response bodies end where the upstream declared: chunked, multi-chunk with a length, 204, 304 with a Content-Length and HEAD, on one connection', async (t) => {
  const { createServer } = await import('node:http')
  const piece = 'x'.repeat(20_000)
  const upstream = createServer((req, res) => {
    const kind = (req.url ?? '').slice(1)
    if (kind === 'pieces') {
      // Three writes a tick apart: the declared length arrives in several chunks.
      res.writeHead(200, { 'content-length': String(piece.length * 3) })
      res.write(piece)
      setTimeout(() => { res.write(piece); setTimeout(() => { res.end(piece) }, 5) }, 5)
    } else if (kind === 'chunked') {
      res.write('a')
      setTimeout(() => { res.end('b') }, 5)
    } else if (kind === 'not-modified') {
      res.writeHead(304, { 'content-length': '10', etag: '"v1"' })
      res.end()
    } else if (kind === 'no-content') {
      res.writeHead(204)
      res.end()
    } else {
      res.writeHead(200, { 'content-length': '5' })
      res.end(req.method === 'HEAD' ? undefined : 'hello')
    }
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.closeAllConnections(); upstream.close() })
  const address = upstream.address() as { port: number }
  const gw = await startGateway(t, `http://127.0.0.1:${address.port}`)
  // node:http as the client, as browsers do: undici's own client refuses a 304 that carries a Content-Length.
  const { Agent } = await import('node:http')
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => { agent.destroy() })
  let connects = 0
  const cases: Array<[string, 'GET' | 'HEAD', number, string]> = [
    ['/pieces', 'GET', 200, piece.repeat(3)], ['/chunked', 'GET', 200, 'ab'], ['/not-modified', 'GET', 304, ''],
    ['/no-content', 'GET', 204, ''], ['/short', 'HEAD', 200, ''], ['/short', 'GET', 200, 'hello'], ['/pieces', 'GET', 200, piece.repeat(3)]
  ]
  for (const [path, method, status, body] of cases) {
    const res = await new Promise<{ status: number, text: string }>((resolve, reject) => {
      const req = httpRequest(`${gw.url}${path}`, { agent, method }, (res) => {
        let text = ''
        res.setEncoding('latin1')
        res.on('data', (d: string) => { text += d })
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, text }) })
        res.on('error', reject)
      })
      req.on('socket', (socket) => {
        const seen = socket as unknown as { counted?: boolean }
        if (seen.counted !== true) { connects++; seen.counted = true }
      })
      req.on('error', reject)
      req.end()
    })
    t.equal(res.status, status, `${method} ${path}: status`)
    t.equal(res.text.length, body.length, `${method} ${path}: ${body.length} body bytes`)
    t.equal(res.text, body, `${method} ${path}: body intact`)
  }
  t.equal(connects, 1, 'every response ended cleanly: the client kept its one connection')
})
