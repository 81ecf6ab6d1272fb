import { connect, type Socket } from 'node:net'
import t from 'tap'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

/* Slow and stalling clients against the real binary, on raw sockets. */

const TOKEN = 'timeouts-test-admin-token-0123'

function open (address: string): Socket {
  const [host, port] = address.split(':') as [string, string]
  const socket = connect(Number(port), host)
  socket.setEncoding('latin1')
  socket.on('error', () => {})
  return socket
}

/** Resolves with the time the gateway closed the socket (or null after `ms`), and what it wrote. */
async function closedWithin (socket: Socket, ms: number): Promise<{ after: number | null, text: string }> {
  const started = Date.now()
  let text = ''
  socket.on('data', (d: string) => { text += d })
  return await new Promise((resolve) => {
    const timer = setTimeout(() => { resolve({ after: null, text }) }, ms)
    socket.once('close', () => { clearTimeout(timer); resolve({ after: Date.now() - started, text }) })
  })
}

t.test('slowloris: a client dripping header lines is cut at headersTimeoutMs', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--headers-timeout-ms', '1000'])
  const socket = open(gw.gateway)
  socket.write('GET / HTTP/1.1\r\nHost: a\r\n')
  const drip = setInterval(() => { if (!socket.destroyed) socket.write(`X-Drip-${Date.now()}: 1\r\n`) }, 200)
  t.teardown(() => { clearInterval(drip); socket.destroy() })
  const { after, text } = await closedWithin(socket, 5000)
  t.not(after, null, 'the connection was closed')
  t.ok((after ?? 0) < 3000, `closed after ${String(after)} ms`)
  t.match(text, /^(HTTP\/1\.1 408|)/, 'a 408 or a plain close')
})

t.test('a request body that stops moving is cut at bodyTimeoutMs; one that keeps moving is not', async (t) => {
  let received = 0
  const upstream = await startUpstream(t, (req, res) => {
    req.on('data', (d: Buffer) => { received += d.length })
    req.on('end', () => { res.end(`got ${received}`) })
    req.on('error', () => {})
  })
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--body-timeout-ms', '800'])
  const stalled = open(gw.gateway)
  stalled.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(10))
  const { after } = await closedWithin(stalled, 4000)
  t.not(after, null, 'stalled upload cut')
  t.ok((after ?? 0) >= 700, `not before the timeout (${String(after)} ms)`)

  received = 0
  const moving = open(gw.gateway)
  moving.write('POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n')
  let sent = 0
  const answer = closedWithin(moving, 6000)
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      moving.write('y')
      if (++sent === 10) { clearInterval(tick); resolve() }
    }, 300)
  })
  await new Promise((resolve) => setTimeout(resolve, 300))
  moving.end()
  const { text } = await answer
  t.match(text, /got 10/, 'a slow but moving upload (3 s, longer than the timeout) completes')
})

t.test('Expect: 100-continue: refused requests get the 503 without 100, and the body is not read', async (t) => {
  let upstreamBodies = 0
  const upstream = await startUpstream(t, (req, res) => {
    req.on('data', (d: Buffer) => { upstreamBodies += d.length })
    req.on('end', () => { res.end('stored') })
  })
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  const patch = async (body: unknown): Promise<void> => {
    const res = await fetch(`http://${gw.admin}/v1/maintenance`, { method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    t.equal(res.status, 200)
  }
  await patch({ enabled: true })
  const refused = open(gw.gateway)
  refused.write(`PUT /big HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: ${50 * 1024 * 1024}\r\n\r\n`)
  const { after, text } = await closedWithin(refused, 3000)
  t.match(text, /^HTTP\/1\.1 503 /, 'the 503 comes first')
  t.notMatch(text, /100 Continue/, 'no 100 Continue')
  t.not(after, null, 'the connection is closed (the body is never read)')

  await patch({ enabled: false })
  const allowed = open(gw.gateway)
  let text2 = ''
  allowed.on('data', (d: string) => { text2 += d })
  allowed.write('PUT /small HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n')
  await new Promise<void>((resolve) => { allowed.once('data', () => { resolve() }) })
  t.match(text2, /^HTTP\/1\.1 100 Continue/, 'a request let through gets 100 Continue')
  allowed.write('hello')
  await new Promise<void>((resolve) => { allowed.once('close', () => { resolve() }) })
  t.match(text2, /200 OK[\s\S]*stored/, 'then the upstream answer')
  t.equal(upstreamBodies, 5)
})

t.test('an expectation other than 100-continue gets 417 and is never proxied', async (t) => {
  let hits = 0
  const upstream = await startUpstream(t, (_req, res) => { hits++; res.end() })
  const gw = await spawnGateway(t, ['--upstream', upstream.url])
  const socket = open(gw.gateway)
  socket.write('POST / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
  const { text } = await closedWithin(socket, 3000)
  t.match(text, /^HTTP\/1\.1 417 /)
  t.equal(hits, 0)
})
