import { connect, type Socket } from 'node:net'
import type { IncomingMessage } from 'node:http'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

/*
 * Upgrades against the real binary: the tunnel exists only after the
 * upstream's 101, and a tunnel the gate would now refuse is closed.
 */

const TOKEN = 'upgrade-test-admin-token-0123'

interface Seen { method: string | undefined, url: string | undefined, headers: IncomingMessage['headers'] }

/** A plain upstream (no WebSocket support) that answers 200 and keeps connections alive, recording every request. */
async function plainUpstream (t: Parameters<typeof startUpstream>[0]): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const upstream = await startUpstream(t, (req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers })
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' })
    res.end('ok')
  })
  return { url: upstream.url, seen }
}

async function admin (gw: SpawnedGateway, body: unknown): Promise<void> {
  const res = await fetch(`http://${gw.admin}/v1/maintenance`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  if (res.status !== 200) throw new Error(`PATCH answered ${res.status}: ${await res.text()}`)
}

/** Writes `bytes` on a raw connection and collects everything until the gateway closes it (or `ms` pass). */
async function exchange (address: string, bytes: string, ms = 3000): Promise<{ text: string, closed: boolean }> {
  const [host, port] = address.split(':') as [string, string]
  return await new Promise((resolve) => {
    const socket: Socket = connect(Number(port), host)
    let text = ''
    const timer = setTimeout(() => { socket.destroy(); resolve({ text, closed: false }) }, ms)
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => { text += d })
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve({ text, closed: true }) })
    socket.write(bytes)
  })
}

const upgradeThenSmuggle = (path: string, upgrade: string, next: string): string =>
  `GET ${path} HTTP/1.1\r\nHost: app\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n` +
  (upgrade === 'websocket' ? 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' : 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n') +
  `\r\n${next} HTTP/1.1\r\nHost: app\r\nContent-Length: 0\r\n\r\n`

t.test('an upgrade the upstream answers with 200 is relayed and closed: nothing after it reaches the upstream', async (t) => {
  const upstream = await plainUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  await admin(gw, { enabled: true, exceptPaths: ['/health'] })
  for (const upgrade of ['websocket', 'h2c']) {
    upstream.seen.length = 0
    const { text, closed } = await exchange(gw.gateway, upgradeThenSmuggle('/health', upgrade, 'DELETE /users/1'))
    t.match(text, /^HTTP\/1\.1 200 /, `${upgrade}: the upstream's 200 is relayed`)
    t.notMatch(text, /HTTP\/1\.1 503/, `${upgrade}: no second answer on the connection`)
    t.ok(closed, `${upgrade}: the connection is closed after the answer`)
    t.same(upstream.seen.map((s) => `${s.method ?? ''} ${s.url ?? ''}`), ['GET /health'], `${upgrade}: the upstream saw only the handshake`)
    if (upgrade === 'h2c') t.equal(upstream.seen[0]?.headers.upgrade, undefined, 'h2c is forwarded as a plain request')
  }
})

t.test('read-only mode: a POST smuggled after an upgrade GET never reaches the upstream', async (t) => {
  const upstream = await plainUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  await admin(gw, { enabled: true, mode: 'read-only' })
  const { text, closed } = await exchange(gw.gateway, upgradeThenSmuggle('/page', 'websocket', 'POST /orders'))
  t.match(text, /^HTTP\/1\.1 200 /)
  t.ok(closed)
  t.same(upstream.seen.map((s) => s.method), ['GET'], 'only the GET')
  t.equal(upstream.seen[0]?.headers['x-drawbridge-flags'], undefined)
})

async function wsUpstream (t: Parameters<typeof startUpstream>[0]): Promise<string> {
  const upstream = await startUpstream(t, (_req, res) => { res.end('plain') })
  const wss = new WebSocketServer({ server: upstream.server })
  wss.on('connection', (socket) => { socket.on('message', (data) => { socket.send(data) }) })
  t.teardown(() => { for (const c of wss.clients) c.terminate(); wss.close() })
  return upstream.url
}

async function openWs (url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve() })
    ws.once('error', reject)
  })
  return ws
}

async function closeCode (ws: WebSocket, ms: number): Promise<number | 'open'> {
  return await new Promise((resolve) => {
    const timer = setTimeout(() => { resolve('open') }, ms)
    ws.once('close', (code) => { clearTimeout(timer); resolve(code) })
  })
}

t.test('maintenance on closes the tunnels it would now refuse (1012), keeps bypass holders', async (t) => {
  const secret = 'tunnel-secret-0123456789abcdef'
  const gw = await spawnGateway(t, ['--upstream', await wsUpstream(t), '--admin-token', TOKEN])
  await admin(gw, { enabled: false, secret })
  const plain = await openWs(`ws://${gw.gateway}/socket`)
  const bypass = await openWs(`ws://${gw.gateway}/socket`, { 'x-drawbridge-bypass': secret })
  const excepted = await openWs(`ws://${gw.gateway}/live`)
  t.teardown(() => { plain.terminate(); bypass.terminate(); excepted.terminate() })
  const plainClosed = closeCode(plain, 2500)
  const started = Date.now()
  await admin(gw, { enabled: true, exceptPaths: ['/live'] })
  t.equal(await plainClosed, 1012, 'closed with 1012 (service restart)')
  t.ok(Date.now() - started < 1500, `closed within a second of the change (${Date.now() - started} ms)`)
  for (const [name, ws] of [['bypass header', bypass], ['except path', excepted]] as const) {
    const echoed = await new Promise<string>((resolve) => { ws.once('message', (d) => { resolve(String(d)) }); ws.send(name) })
    t.equal(echoed, name, `${name}: the tunnel keeps working`)
  }
})

t.test('a scheduled window that starts closes tunnels without any state change', async (t) => {
  const gw = await spawnGateway(t, ['--upstream', await wsUpstream(t), '--admin-token', TOKEN])
  // Far enough ahead that the tunnel opens before the window even on a loaded machine (1.5 s was not, once).
  await admin(gw, { enabled: true, startsAt: new Date(Date.now() + 3000).toISOString() })
  const ws = await openWs(`ws://${gw.gateway}/socket`)
  t.teardown(() => { ws.terminate() })
  t.equal(await closeCode(ws, 6000), 1012)
})

t.test('an idle tunnel is closed after tunnelIdleTimeoutMs', async (t) => {
  const gw = await spawnGateway(t, ['--upstream', await wsUpstream(t), '--tunnel-idle-timeout-ms', '800'])
  const ws = await openWs(`ws://${gw.gateway}/socket`)
  t.teardown(() => { ws.terminate() })
  const started = Date.now()
  const code = await closeCode(ws, 4000)
  t.not(code, 'open', 'closed')
  t.ok(Date.now() - started >= 700, 'not before the timeout')
})
