import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import t, { type Test } from 'tap'
import { request } from 'undici'
import WebSocket, { WebSocketServer } from 'ws'
import { gatewayFor, hit, namedUpstream, route, sleep, upstreamsView, type NamedUpstream } from './helpers.js'

/**
 * CONTRACT section 6: after a switch, requests already in flight finish on
 * the upstream they started on, and open WebSockets stay where they are,
 * while new requests and connections go to the new one.
 */

const SIZE = 20 * 1024 * 1024
const CHUNK = 64 * 1024
const CHUNK_EVERY_MS = 6

function chunkAt (i: number): Buffer {
  return Buffer.alloc(CHUNK, i % 251)
}

const expectedHash = ((): string => {
  const hash = createHash('sha256')
  for (let i = 0; i < SIZE / CHUNK; i++) hash.update(chunkAt(i))
  return hash.digest('hex')
})()

/** Streams SIZE bytes in CHUNK pieces, one every CHUNK_EVERY_MS (about 2 s), honouring backpressure. */
function slowDownload (res: ServerResponse, name: string): void {
  res.writeHead(200, { 'x-upstream': name, 'content-type': 'application/octet-stream', 'content-length': SIZE })
  let i = 0
  const next = (): void => {
    if (res.destroyed) return
    if (i === SIZE / CHUNK) { res.end(); return }
    const ok = res.write(chunkAt(i++))
    if (ok) setTimeout(next, CHUNK_EVERY_MS)
    else res.once('drain', () => setTimeout(next, CHUNK_EVERY_MS))
  }
  next()
}

async function upstreamWithSockets (t: Test, name: string): Promise<NamedUpstream> {
  const up = await namedUpstream(t, name, {
    route: (req, res, n) => {
      if (req.url !== '/download') return false
      slowDownload(res, n)
      return true
    }
  })
  const wss = new WebSocketServer({ server: up.server })
  wss.on('connection', (socket) => {
    socket.on('message', (data) => { socket.send(`${name}:${data.toString()}`) })
  })
  t.teardown(() => { for (const c of wss.clients) c.terminate(); wss.close() })
  return up
}

async function open (url: string): Promise<WebSocket> {
  const ws = new WebSocket(url)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`WebSocket ${url} not open after 3 s`)) }, 3000)
    ws.once('open', () => { clearTimeout(timer); resolve() })
    ws.once('error', (err) => { clearTimeout(timer); reject(err) })
    ws.once('unexpected-response', (_req, res) => { clearTimeout(timer); reject(new Error(`unexpected ${String(res.statusCode)}`)) })
  })
  return ws
}

async function echo (ws: WebSocket, message: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no echo of ${message} within 2 s`)) }, 2000)
    ws.once('message', (data: Buffer) => { clearTimeout(timer); resolve(data.toString()) })
    ws.send(message)
  })
}

t.test('a 20 MB download and a WebSocket started on blue survive a switch to green', { timeout: 20_000 }, async (t) => {
  const blue = await upstreamWithSockets(t, 'blue')
  const green = await upstreamWithSockets(t, 'green')
  const gw = await gatewayFor(t, [blue, green])

  const oldSocket = await open(`ws://${gw.gateway}/socket`)
  t.teardown(() => { oldSocket.terminate() })
  let closedAt: number | null = null
  oldSocket.on('close', () => { closedAt = Date.now() })
  t.equal(await echo(oldSocket, 'before'), 'blue:before', 'the WebSocket opened on blue')

  const started = performance.now()
  const res = await request(`http://${gw.gateway}/download`, { headersTimeout: 3000, bodyTimeout: 3000, signal: AbortSignal.timeout(15_000) })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-upstream'], 'blue', 'the download started on blue')
  const hash = createHash('sha256')
  let bytes = 0
  let bytesAtSwitch = -1
  const download = (async () => {
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer)
      bytes += (chunk as Buffer).length
    }
  })()

  await sleep(500)
  bytesAtSwitch = bytes
  const routing = await route(gw, { active: 'green' })
  t.equal(routing.active, 'green')
  t.ok(bytesAtSwitch > 0 && bytesAtSwitch < SIZE, `switched mid-download, at ${(bytesAtSwitch / 1048576).toFixed(1)} MB of 20`)

  const view = await upstreamsView(gw)
  const blueInFlight = view.upstreams.find((u) => u.name === 'blue')?.inFlight
  t.ok((blueInFlight ?? 0) >= 1, `GET /v1/upstreams counts the download in flight on blue (inFlight ${String(blueInFlight)})`)

  const fresh = await hit(gw, '/new')
  t.equal(fresh.upstream, 'green', 'a new request goes to green while the download runs')
  const newSocket = await open(`ws://${gw.gateway}/socket`)
  t.teardown(() => { newSocket.terminate() })
  t.equal(await echo(newSocket, 'hello'), 'green:hello', 'a new WebSocket goes to green')

  for (let i = 0; i < 10; i++) {
    t.equal(await echo(oldSocket, `after-${i}`), `blue:after-${i}`, `the old WebSocket still echoes on blue (${i})`)
    await sleep(100)
  }
  t.equal(oldSocket.readyState, WebSocket.OPEN, 'and is still open a second after the switch')
  t.equal(closedAt, null)

  await download
  const took = performance.now() - started
  t.equal(bytes, SIZE, `the download completed intact: ${bytes} bytes in ${Math.round(took)} ms`)
  t.equal(hash.digest('hex'), expectedHash, 'byte for byte (sha256)')
  t.ok(took > 1000, `it was slow enough to straddle the switch (${Math.round(took)} ms)`)
  t.equal(green.arrivals.filter((a) => a.url === '/download').length, 0, 'the download never touched green')

  const second = await request(`http://${gw.gateway}/download`, { headersTimeout: 3000, bodyTimeout: 3000, signal: AbortSignal.timeout(15_000) })
  t.equal(second.headers['x-upstream'], 'green', 'a download started after the switch is served by green')
  second.body.destroy()
  t.equal(await echo(oldSocket, 'last'), 'blue:last', 'the old WebSocket is still on blue at the end')
})
