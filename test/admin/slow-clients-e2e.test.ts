import { connect, type Socket } from 'node:net'
import t from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'

const TOKEN = 'slow-clients-admin-token-0123456789'

/** Opens a raw connection, sends `first`, then one byte every 100 ms; resolves with what came back and when the server closed it. */
async function drip (address: string, first: string, limitMs: number): Promise<{ closedAfterMs: number | null, received: string }> {
  const [host, port] = address.split(/:(?=\d+$)/) as [string, string]
  const socket: Socket = connect(Number(port), host)
  socket.on('error', () => {})
  let received = ''
  socket.setEncoding('utf8').on('data', (d: string) => { received += d })
  const started = performance.now()
  socket.write(first)
  const timer = setInterval(() => { if (socket.writable) socket.write('a') }, 100)
  const closedAfterMs = await new Promise<number | null>((resolve) => {
    const limit = setTimeout(() => { resolve(null) }, limitMs)
    socket.once('close', () => {
      clearTimeout(limit)
      resolve(performance.now() - started)
    })
  })
  clearInterval(timer)
  socket.destroy()
  return { closedAfterMs, received }
}

t.test('admin port: unauthenticated dripping bodies, slow headers, slow bodies and idle connections are cut', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN,
    '--admin-headers-timeout-ms', '500', '--admin-request-timeout-ms', '1500', '--admin-keep-alive-timeout-ms', '500'])

  const unauth = await drip(gw.admin, 'PATCH /v1/maintenance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{', 5000)
  t.match(unauth.received, /^HTTP\/1\.1 401 /, 'answered 401 before the body')
  t.match(unauth.received, /connection: close/i)
  t.ok(unauth.closedAfterMs !== null && unauth.closedAfterMs < 1500, `disconnected after ${String(unauth.closedAfterMs?.toFixed(0))} ms though still sending`)

  const chunked = await drip(gw.admin, 'POST /v1/explain HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n', 5000)
  t.match(chunked.received, /^HTTP\/1\.1 401 /)
  t.ok(chunked.closedAfterMs !== null && chunked.closedAfterMs < 1500, 'chunked too')

  const headers = await drip(gw.admin, 'GET /v1/maintenance HTTP/1.1\r\nHost: x\r\nX-Slow: ', 5000)
  t.ok(headers.closedAfterMs !== null && headers.closedAfterMs < 2500, `slow headers cut after ${String(headers.closedAfterMs?.toFixed(0))} ms`)

  const body = await drip(gw.admin, `PATCH /v1/maintenance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{`, 6000)
  t.ok(body.closedAfterMs !== null && body.closedAfterMs < 4000, `an authenticated slow body is cut after ${String(body.closedAfterMs?.toFixed(0))} ms`)

  // Keep-alive: one request, then silence.
  const idle = await new Promise<number>((resolve) => {
    const [host, port] = gw.admin.split(/:(?=\d+$)/) as [string, string]
    const socket = connect(Number(port), host)
    const started = performance.now()
    socket.on('error', () => {})
    socket.resume()
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
    socket.once('close', () => { resolve(performance.now() - started) })
    setTimeout(() => { socket.destroy() }, 5000)
  })
  t.ok(idle < 3000, `an idle keep-alive connection is closed after ${idle.toFixed(0)} ms`)

  // Expect: 100-continue invites the body only from a known token.
  const expect = async (authorization: string): Promise<string> => await new Promise((resolve) => {
    const [host, port] = gw.admin.split(/:(?=\d+$)/) as [string, string]
    const socket = connect(Number(port), host)
    let got = ''
    socket.setEncoding('utf8').on('data', (d: string) => {
      got += d
      if (got.includes('\r\n\r\n')) {
        socket.destroy()
        resolve(got.slice(0, got.indexOf('\r\n')))
      }
    })
    socket.write(`PATCH /v1/maintenance HTTP/1.1\r\nHost: x\r\n${authorization}Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n`)
  })
  t.equal(await expect(''), 'HTTP/1.1 401 Unauthorized', 'no 100 Continue without a token')
  t.equal(await expect('Authorization: Bearer wrong-token\r\n'), 'HTTP/1.1 401 Unauthorized', 'nor with a wrong one')
  t.equal(await expect(`Authorization: Bearer ${TOKEN}\r\n`), 'HTTP/1.1 100 Continue', 'a known token is invited to send')

  // The port still serves.
  const res = await fetch(`http://${gw.admin}/healthz`)
  t.equal(res.status, 200)
})
