import type { IncomingMessage } from 'node:http'
import { connect, type Socket } from 'node:net'
import type { Test } from 'tap'
import type { SpawnedGateway } from './spawn-gateway.js'
import { startUpstream } from './upstream.js'

/** Raw-socket helpers for attacks on the real binary: bytes in, bytes out, no client library normalising anything. */

export interface Seen { method: string | undefined, url: string | undefined, headers: IncomingMessage['headers'], rawHeaders: string[] }

/** A plain upstream that answers 200 "ok" to everything and records each request it receives. */
export async function recordingUpstream (t: Test): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const upstream = await startUpstream(t, (req, res) => {
    seen.push({ method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders })
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' })
    res.end('ok')
  })
  return { url: upstream.url, seen }
}

/** An admin API call with the bearer token; throws unless it answers 2xx. */
export async function adminCall (gw: SpawnedGateway, token: string, method: string, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`http://${gw.admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  const text = await res.text()
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`)
  return JSON.parse(text) as unknown
}

/** Writes `bytes` (latin1) on a raw connection and collects everything until the gateway closes it (or `ms` pass). */
export async function rawExchange (address: string, bytes: string, ms = 3000): Promise<string> {
  const [host, port] = address.split(':') as [string, string]
  return await new Promise((resolve) => {
    const socket: Socket = connect(Number(port), host)
    let text = ''
    const timer = setTimeout(() => { socket.destroy(); resolve(text) }, ms)
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => { text += d })
    socket.on('error', () => {})
    socket.on('close', () => { clearTimeout(timer); resolve(text) })
    socket.write(Buffer.from(bytes, 'latin1'))
  })
}

/** One request on its own connection (`Connection: close`); the status code and the whole answer. */
export async function rawRequest (address: string, method: string, target: string, headers: Record<string, string> = {}): Promise<{ status: number, text: string }> {
  let head = `${method} ${target} HTTP/1.1\r\nHost: app\r\nConnection: close\r\n`
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`
  const text = await rawExchange(address, head + '\r\n')
  const match = /^HTTP\/1\.1 (\d{3})/.exec(text)
  return { status: match === null ? 0 : Number(match[1]), text }
}
