import { connect } from 'node:net'
import t from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { startUpstream } from '../helpers/upstream.js'
import { startGateway } from './helpers.js'

async function wsUpstream (t: Parameters<typeof startUpstream>[0]): Promise<{ url: string, headers: Array<Record<string, string | string[] | undefined>> }> {
  const upstream = await startUpstream(t, (_req, res) => { res.end('plain http') })
  const wss = new WebSocketServer({ server: upstream.server })
  const headers: Array<Record<string, string | string[] | undefined>> = []
  wss.on('connection', (socket, req) => {
    headers.push({ ...req.headers, url: req.url })
    socket.on('message', (data, binary) => { socket.send(data, { binary }) })
  })
  t.teardown(() => { for (const c of wss.clients) c.terminate(); wss.close() })
  return { url: upstream.url, headers }
}

async function open (url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options)
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => { resolve() })
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => { reject(new Error(`unexpected ${String(res.statusCode)}`)) })
  })
  return ws
}

async function echo (ws: WebSocket, message: string | Buffer): Promise<Buffer> {
  return await new Promise((resolve) => {
    ws.once('message', (data) => { resolve(data as Buffer) })
    ws.send(message)
  })
}

t.test('WebSocket echo through the gateway', async (t) => {
  const upstream = await wsUpstream(t)
  const gw = await startGateway(t, `${upstream.url}/base`)
  const ws = await open(`ws://${gw.address}/socket?room=1`, { headers: { 'x-drawbridge-bypass': 'dropped' } })
  t.teardown(() => { ws.terminate() })
  t.equal((await echo(ws, 'hello')).toString(), 'hello')
  const big = Buffer.alloc(1024 * 1024, 7)
  t.ok((await echo(ws, big)).equals(big), '1 MiB binary frame')
  for (let i = 0; i < 50; i++) t.equal((await echo(ws, `m${i}`)).toString(), `m${i}`)
  const seen = upstream.headers[0] ?? {}
  t.equal(seen.url, '/base/socket?room=1', 'base path and query kept')
  t.equal(seen['x-forwarded-for'], '127.0.0.1')
  t.equal(seen['x-drawbridge-bypass'], undefined, 'bypass header dropped')
  t.equal(seen.upgrade, 'websocket')
  ws.close()
})

t.test('upgrades follow the maintenance rules', async (t) => {
  const upstream = await wsUpstream(t)
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true, secret: 'ws-secret-0123456789abcdef', exceptPaths: ['/live'] })
  await t.rejects(open(`ws://${gw.address}/socket`), /unexpected 503/, 'blocked upgrade gets the 503')
  const allowed = await open(`ws://${gw.address}/socket`, { headers: { 'x-drawbridge-bypass': 'ws-secret-0123456789abcdef' } })
  t.equal((await echo(allowed, 'via header')).toString(), 'via header')
  allowed.terminate()
  const excepted = await open(`ws://${gw.address}/live`)
  t.equal((await echo(excepted, 'excepted')).toString(), 'excepted')
  excepted.terminate()
})

t.test('a blocked upgrade receives the full 503 on the socket', async (t) => {
  const upstream = await wsUpstream(t)
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true, retryAfter: 42 })
  const [host, port] = [gw.address.split(':')[0] as string, Number(gw.address.split(':')[1])]
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, host, () => {
      socket.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAccept: application/json\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n')
    })
    let data = ''
    socket.on('data', (c: Buffer) => { data += c.toString() })
    socket.on('end', () => { resolve(data) })
    socket.on('error', reject)
  })
  t.match(raw, /^HTTP\/1\.1 503 Service Unavailable\r\n/)
  t.match(raw, /retry-after: 42\r\n/)
  t.match(raw, /\r\n\r\n\{"error":"maintenance"/)
})

t.test('upstream unreachable for an upgrade: 502, no hang', async (t) => {
  const upstream = await startUpstream(t)
  const port = upstream.port
  await new Promise((resolve) => { upstream.server.closeAllConnections(); upstream.server.close(resolve) })
  const gw = await startGateway(t, `http://127.0.0.1:${port}`)
  await t.rejects(open(`ws://${gw.address}/socket`), /unexpected 502/)
})

t.test('upstream refusing the upgrade: its answer reaches the client', async (t) => {
  const upstream = await startUpstream(t, (_req, res) => { res.end('no') })
  upstream.server.on('upgrade', (_req, socket) => { socket.end('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n') })
  const gw = await startGateway(t, upstream.url)
  await t.rejects(open(`ws://${gw.address}/socket`), /unexpected 426/)
})

t.test('closing the gateway ends open WebSockets', async (t) => {
  const upstream = await wsUpstream(t)
  const gw = await startGateway(t, upstream.url)
  const ws = await open(`ws://${gw.address}/socket`)
  const closed = new Promise<void>((resolve) => { ws.once('close', () => { resolve() }) })
  const started = Date.now()
  await gw.gateway.close(100)
  await closed
  t.ok(Date.now() - started < 3000, 'drain bounded')
})
