import { createServer as createNetServer, type AddressInfo } from 'node:net'
import { request as httpRequest } from 'node:http'
import t from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { fetchText, startGateway } from './helpers.js'

async function freePort (): Promise<number> {
  const server = createNetServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

t.test('refused upstream: 502 with the branded page or JSON', async (t) => {
  const gw = await startGateway(t, `http://127.0.0.1:${await freePort()}`)
  const html = await fetchText(`${gw.url}/x`)
  t.equal(html.status, 502)
  t.equal(html.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(html.headers['cache-control'], 'no-store')
  t.match(html.text, /<html lang="en">/)
  t.match(html.text, /502/)
  const json = await fetchText(`${gw.url}/x`, { headers: { accept: 'application/json' } })
  t.equal(json.status, 502)
  t.same(JSON.parse(json.text), { statusCode: 502, error: 'bad_gateway', message: 'The service behind this address is not answering. This is usually brief; please try again in a moment.' })
  const head = await fetchText(`${gw.url}/x`, { method: 'HEAD' })
  t.equal(head.status, 502)
  t.equal(head.text, '')
  const post = await fetchText(`${gw.url}/x`, { method: 'POST', body: 'x'.repeat(100_000) })
  t.equal(post.status, 502, 'with a request body too')
  t.match(gw.ctx.metrics.render(), /drawbridge_upstream_errors_total\{status="502"\} 4/)
})

t.test('upstream resets the connection: 502', async (t) => {
  const upstream = await startUpstream(t, (req) => { req.socket.destroy() })
  const gw = await startGateway(t, upstream.url)
  t.equal((await fetchText(`${gw.url}/`)).status, 502)
})

t.test('slow upstream: 504 after upstreamTimeoutMs, no hang', async (t) => {
  const upstream = await startUpstream(t, (_req, res) => { setTimeout(() => { if (!res.destroyed) res.end('late') }, 3000).unref() })
  const gw = await startGateway(t, upstream.url, ['--upstream-timeout-ms', '200'])
  const started = Date.now()
  const res = await fetchText(`${gw.url}/`, { headers: { accept: 'application/json' } })
  const took = Date.now() - started
  t.equal(res.status, 504)
  t.equal((JSON.parse(res.text) as { error: string }).error, 'gateway_timeout')
  t.ok(took >= 190 && took < 2000, `answered in ${took} ms`)
  t.equal((await fetchText(`${gw.url}/`)).status, 504, 'and again (the pool is still healthy)')
})

t.test('upstream dies mid-body: the client connection is cut, the gateway survives', async (t) => {
  const upstream = await startUpstream(t, (req, res) => {
    if (req.url === '/ok') { res.end('fine'); return }
    res.writeHead(200, { 'content-length': '1000000' })
    res.write('partial')
    setTimeout(() => { res.socket?.destroy() }, 50)
  })
  const gw = await startGateway(t, upstream.url)
  await t.rejects(fetchText(`${gw.url}/`), 'truncated body is an error for the client')
  t.equal((await fetchText(`${gw.url}/ok`)).text, 'fine')
})

t.test('a client that goes away aborts the upstream request', async (t) => {
  let upstreamClosed: () => void = () => {}
  const closed = new Promise<void>((resolve) => { upstreamClosed = resolve })
  const upstream = await startUpstream(t, (req, res) => {
    res.writeHead(200)
    res.write('first chunk')
    // Never ends on its own: only the gateway aborting ends this exchange.
    req.socket.on('close', () => { upstreamClosed() })
  })
  const gw = await startGateway(t, upstream.url)
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(`${gw.url}/stream`, (res) => {
      res.once('data', () => { req.destroy(); resolve() })
    })
    req.on('error', () => {})
    req.end()
    setTimeout(() => { reject(new Error('no first chunk')) }, 5000).unref()
  })
  const timeout = new Promise<string>((resolve) => setTimeout(() => { resolve('timeout') }, 5000).unref())
  t.equal(await Promise.race([closed.then(() => 'closed'), timeout]), 'closed', 'upstream socket closed after client abort')
})

t.test('an upstream header Node will not send on is a 502, not a crash', async (t) => {
  const { createServer } = await import('node:net')
  // A raw upstream: llhttp (lenient in undici) accepts what ServerResponse refuses to write.
  const raw = createServer((socket) => {
    socket.once('data', () => { socket.end('HTTP/1.1 200 OK\r\nX-Bad Name: 1\r\nContent-Length: 2\r\n\r\nok') })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { raw.close() })
  const gw = await startGateway(t, `http://127.0.0.1:${(raw.address() as AddressInfo).port}`)
  const res = await fetchText(`${gw.url}/`).then((r) => r.status, () => 'error')
  t.ok(res === 502 || res === 'error', `answered ${String(res)}`)
  const again = await fetchText(`${gw.url}/`).then((r) => r.status, () => 'error')
  t.ok(again === 502 || again === 'error', 'still alive')
})
