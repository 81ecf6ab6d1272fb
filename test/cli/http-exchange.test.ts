import { createServer, type Server, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { text as readText } from 'node:stream/consumers'
import { exchange } from '../../src/cli/http-exchange.js'

// The CLI's HTTP exchange (node:http, one socket per call): a server that says
// nothing, or stops halfway through a body, is given up on after the bound;
// an event stream (no body bound) may pause as long as it likes.

async function rawServer (t: Test, onSocket: (s: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((s) => { sockets.add(s); s.on('error', () => {}); onSocket(s) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const s of sockets) s.destroy(); server.close() })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return `http://127.0.0.1:${address.port}`
}

const HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\n'

t.test('no answer: ETIMEDOUT after the headers bound', async (t) => {
  const url = await rawServer(t, () => {})
  const started = performance.now()
  await t.rejects(exchange(url + '/v1/maintenance', { method: 'GET', headers: {}, headersTimeoutMs: 300, bodyTimeoutMs: 300 }), { code: 'ETIMEDOUT' })
  const took = performance.now() - started
  t.ok(took >= 250 && took < 3000, `gave up after ${took.toFixed(0)} ms`)
})

t.test('a body that stops halfway: ETIMEDOUT after the body bound', async (t) => {
  const url = await rawServer(t, (s) => s.once('data', () => s.write(HEAD + 'hello')))
  const res = await exchange(url + '/', { method: 'GET', headers: {}, headersTimeoutMs: 2000, bodyTimeoutMs: 300 })
  t.equal(res.statusCode, 200)
  await t.rejects(readText(res), { code: 'ETIMEDOUT', message: 'no data within 300 ms' })
})

t.test('no body bound: a pause longer than the headers bound is waited out', async (t) => {
  const url = await rawServer(t, (s) => s.once('data', () => {
    s.write(HEAD + 'hello')
    setTimeout(() => s.end('world'), 600)
  }))
  const res = await exchange(url + '/', { method: 'GET', headers: {}, headersTimeoutMs: 200, bodyTimeoutMs: 0 })
  t.equal(await readText(res), 'helloworld')
})

t.test('a body is sent with its length, on a connection closed after the exchange', async (t) => {
  let request = ''
  const url = await rawServer(t, (s) => s.on('data', (d: Buffer) => {
    request += d.toString('latin1')
    if (request.endsWith('{"enabled":true}')) s.write('HTTP/1.1 204 No Content\r\n\r\n')
  }))
  const res = await exchange(url + '/v1/maintenance', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"enabled":true}', headersTimeoutMs: 2000, bodyTimeoutMs: 2000 })
  t.equal(res.statusCode, 204)
  t.match(request, /^PATCH \/v1\/maintenance HTTP\/1\.1\r\n/)
  t.match(request, /\r\ncontent-length: 16\r\n/i)
  t.match(request, /\r\nconnection: close\r\n/i, 'no pooled socket keeps the CLI alive')
})
