import { connect } from 'node:net'
import type { IncomingMessage } from 'node:http'
import t from 'tap'
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

/*
 * Headers that make an upstream act on something other than what the gateway
 * decided on: a second Host, a path override, a method override under
 * read-only mode, a client address claimed by the client itself. Raw sockets
 * against the real binary, so nothing a polite client would fix up hides them.
 */

const TOKEN = 'gate-headers-test-admin-token-01'

interface Seen { method: string | undefined, url: string | undefined, headers: IncomingMessage['headers'] }

async function recordingUpstream (t: Parameters<typeof startUpstream>[0]): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const upstream = await startUpstream(t, (req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers })
    req.resume()
    res.end('ok')
  })
  return { url: upstream.url, seen }
}

async function patch (gw: SpawnedGateway, body: unknown): Promise<void> {
  const res = await fetch(`http://${gw.admin}/v1/maintenance`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  if (res.status !== 200) throw new Error(`PATCH answered ${res.status}: ${await res.text()}`)
}

/** One request on a raw connection; the status line's code (0 when nothing came back). */
async function status (address: string, head: string): Promise<number> {
  const [host, port] = address.split(':') as [string, string]
  return await new Promise((resolve) => {
    const socket = connect(Number(port), host)
    let text = ''
    const done = (): void => { socket.destroy(); resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)) }
    const timer = setTimeout(done, 3000)
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => { text += d; if (text.includes('\r\n\r\n')) { clearTimeout(timer); done() } })
    socket.on('error', () => {})
    socket.write(head + '\r\n')
  })
}

t.test('a request with two Host fields is refused with 400 and never proxied', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  t.equal(await status(gw.gateway, 'GET /a HTTP/1.1\r\nHost: app.example\r\nHost: admin.internal\r\n'), 400)
  t.equal(await status(gw.gateway, 'GET /a HTTP/1.1\r\nHost: app.example\r\nhOsT: admin.internal\r\n'), 400, 'in any case')
  t.equal(await status(gw.gateway, 'GET /a HTTP/1.1\r\nHost: app.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nHost: b\r\n'), 400, 'an upgrade too')
  t.same(upstream.seen, [], 'nothing reached the upstream')
  t.equal(await status(gw.gateway, 'GET /a HTTP/1.1\r\nHost: app.example\r\n'), 200, 'one Host passes')
})

t.test('path overrides never reach the upstream, whoever sends them', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--trusted-proxies', '127.0.0.0/8'])
  await patch(gw, { enabled: true, exceptPaths: ['/health'] })
  t.equal(await status(gw.gateway, 'GET /health HTTP/1.1\r\nHost: a\r\nX-Original-URL: /admin\r\nx-rewrite-url: /admin\r\nX_Original_URL: /admin\r\nX-Original-URI: /admin\r\n'), 200)
  const headers = upstream.seen[0]?.headers ?? {}
  for (const name of ['x-original-url', 'x-rewrite-url', 'x_original_url', 'x-original-uri']) t.equal(headers[name], undefined, `${name} dropped`)
  t.equal(upstream.seen[0]?.url, '/health')
})

t.test('read-only mode judges the method an override header names', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  await patch(gw, { enabled: true, mode: 'read-only' })
  for (const name of ['X-HTTP-Method-Override', 'x-http-method', 'X-Method-Override']) {
    for (const method of ['DELETE', 'post', ' PUT ']) {
      t.equal(await status(gw.gateway, `GET /users/1 HTTP/1.1\r\nHost: a\r\n${name}: ${method}\r\n`), 503, `GET with ${name}: ${method}`)
    }
  }
  t.same(upstream.seen, [], 'no overridden write reached the upstream')
  t.equal(await status(gw.gateway, 'GET /users/1 HTTP/1.1\r\nHost: a\r\nX-HTTP-Method-Override: HEAD\r\n'), 200, 'an override to a safe method still reads')
  t.equal(await status(gw.gateway, 'GET /users/1 HTTP/1.1\r\nHost: a\r\n'), 200, 'a plain GET reads')
  t.equal(await status(gw.gateway, 'POST /users/1 HTTP/1.1\r\nHost: a\r\nX-HTTP-Method-Override: GET\r\nContent-Length: 0\r\n'), 503, 'a POST disguised as GET is still a write')
})

t.test('client-address claims are the peer\'s own unless it is a trusted proxy', async (t) => {
  const forged = 'X-Forwarded-For: 10.0.0.1\r\nX-Real-IP: 10.0.0.1\r\nForwarded: for=10.0.0.1\r\nTrue-Client-IP: 10.0.0.1\r\nCF-Connecting-IP: 10.0.0.1\r\nX-Client-IP: 10.0.0.1\r\nX_Real_IP: 10.0.0.1\r\n'
  const claims = ['x-real-ip', 'forwarded', 'true-client-ip', 'cf-connecting-ip', 'x-client-ip', 'x_real_ip']

  const untrusted = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', untrusted.url, '--admin-token', TOKEN])
  t.equal(await status(gw.gateway, `GET /a HTTP/1.1\r\nHost: a\r\n${forged}`), 200)
  const seen = untrusted.seen[0]?.headers ?? {}
  t.equal(seen['x-forwarded-for'], '127.0.0.1', 'the forged chain is replaced by the peer')
  for (const name of claims) t.equal(seen[name], undefined, `${name} dropped from an untrusted peer`)

  const trusted = await recordingUpstream(t)
  const behindProxy = await spawnGateway(t, ['--upstream', trusted.url, '--admin-token', TOKEN, '--trusted-proxies', '127.0.0.0/8'])
  t.equal(await status(behindProxy.gateway, `GET /a HTTP/1.1\r\nHost: a\r\n${forged}`), 200)
  const kept = trusted.seen[0]?.headers ?? {}
  t.equal(kept['x-forwarded-for'], '10.0.0.1, 127.0.0.1', 'a trusted proxy\'s chain is extended')
  t.equal(kept['x-real-ip'], '10.0.0.1', 'a trusted proxy\'s claims are kept')
  t.equal(kept.forwarded, 'for=10.0.0.1')
})

t.test('CONNECT is answered 405 and never tunnelled', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  const port = new URL(upstream.url).port
  t.equal(await status(gw.gateway, `CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`), 405)
  t.same(upstream.seen, [])
})
