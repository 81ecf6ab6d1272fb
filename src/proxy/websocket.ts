import { request as httpRequest, STATUS_CODES, type ClientRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { prefersJson, type Negotiated, type Rendered } from '../maintenance/page.js'
import { BAD_GATEWAY, GATEWAY_TIMEOUT } from './error-pages.js'
import { upstreamPath, type Upstream } from './forwarder.js'
import { forwardHeaders, type ForwardContext } from './headers.js'

/**
 * `Upgrade:` requests (WebSocket). The handshake goes upstream through Node's
 * HTTP client, which parses the answer: only a `101` becomes a tunnel (bytes
 * piped both ways, frames never parsed). Any other answer is relayed as an
 * ordinary response and the client connection is closed after it, so nothing
 * the client sends after the handshake can reach the upstream as a request
 * the gateway never decided on (a 200 to `GET /health` + `Upgrade` followed
 * by `DELETE /users/1` on the same socket).
 */

/** Writes a complete HTTP/1.1 response on a raw socket and closes it. */
export function writeRawResponse (socket: Duplex, method: string | undefined, response: Rendered | { status: number, headers: readonly string[], body: Buffer }): void {
  if (socket.destroyed) return
  socket.end(method === 'HEAD' ? rawHead(response.status, response.headers) : Buffer.concat([Buffer.from(rawHead(response.status, response.headers), 'latin1'), response.body]))
}

export function writeRawNegotiated (socket: Duplex, method: string | undefined, accept: string | undefined, pages: Negotiated): void {
  writeRawResponse(socket, method, prefersJson(accept) ? pages.json : pages.html)
}

/** Status line and headers, always `connection: close`: a raw-socket answer ends the connection. */
function rawHead (status: number, headers: readonly string[], statusText = STATUS_CODES[status] ?? ''): string {
  let head = `HTTP/1.1 ${status} ${statusText}\r\n`
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i] as string}: ${headers[i + 1] as string}\r\n`
  return head + 'connection: close\r\n\r\n'
}

/** Response fields not relayed on a non-101 answer: it is re-framed as close-delimited. */
const RELAY_DROP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'trailer'])

function relayHeaders (raw: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (!RELAY_DROP.has(name.toLowerCase())) out.push(name, raw[i + 1] as string)
  }
  return out
}

/**
 * Upgrade protocols that are HTTP itself (`h2c`) would let the client send
 * further requests, to any path, inside one tunnel the gateway decided on
 * once: they are forwarded as plain requests (the Upgrade header removed).
 */
export function tunnelsHttp (upgrade: string | undefined): boolean {
  if (upgrade === undefined) return false
  const lower = upgrade.toLowerCase()
  return lower.includes('h2c') || lower.includes('http/')
}

export interface Tunnel {
  readonly req: IncomingMessage
  readonly client: Duplex
  /** The client asked for the WebSocket protocol: it is closed with a close frame. */
  readonly websocket: boolean
}

export interface UpgradeProxy {
  proxy (req: IncomingMessage, socket: Duplex, head: Buffer, ctx: ForwardContext, accept: string | undefined): void
  /** Open tunnels (re-checked when the gate changes; drained on shutdown). */
  readonly tunnels: ReadonlySet<Tunnel>
  /** Ends one tunnel: a WebSocket close frame with `code` to the client, then both connections. */
  close (tunnel: Tunnel, code: number): void
  destroyAll (): void
}

export interface UpgradeOptions {
  upstreamTimeoutMs: number
  /** A tunnel with no bytes either way for this long is closed (0: never). */
  idleTimeoutMs: number
  logger: Logger
  /** CAs for an https upstream (see upstream-tls.ts); undefined keeps Node's defaults. */
  ca?: string[]
  /** The set open tunnels are kept in: one for every upstream's proxy, so the gateway re-checks them all. */
  tunnels?: Set<Tunnel>
}

/** RFC 6455 section 5.5.1: an unmasked server close frame carrying a status code. */
function closeFrame (code: number): Buffer {
  return Buffer.from([0x88, 0x02, code >> 8, code & 0xff])
}

export function createUpgradeProxy (upstream: Upstream, options: UpgradeOptions): UpgradeProxy {
  const tunnels = options.tunnels ?? new Set<Tunnel>()
  const secure = upstream.url.protocol === 'https:'
  const port = Number(upstream.url.port) || (secure ? 443 : 80)
  const hostname = upstream.url.hostname.replace(/^\[|\]$/g, '')
  const send = secure ? httpsRequest : httpRequest
  const { logger, idleTimeoutMs } = options

  function open (req: IncomingMessage, client: Duplex, head: Buffer, upstreamReq: ClientRequest, plain: boolean): void {
    upstreamReq.on('upgrade', (res, target: Socket, upstreamHead: Buffer) => {
      // A 101 to a request sent without Upgrade is not an answer we asked for.
      if (client.destroyed || plain) { target.destroy(); client.destroy(); return }
      const tunnel: Tunnel = { req, client, websocket: (readUpgrade(req) ?? '').toLowerCase() === 'websocket' }
      tunnels.add(tunnel)
      target.setNoDelay(true)
      let head101 = `HTTP/1.1 101 ${res.statusMessage ?? 'Switching Protocols'}\r\n`
      for (let i = 0; i < res.rawHeaders.length; i += 2) head101 += `${res.rawHeaders[i] as string}: ${res.rawHeaders[i + 1] as string}\r\n`
      client.write(head101 + '\r\n')
      if (upstreamHead.length > 0) client.write(upstreamHead)
      if (head.length > 0) target.write(head)
      target.pipe(client)
      client.pipe(target)
      if (idleTimeoutMs > 0) {
        // Socket timeouts measure inactivity: any byte either way re-arms them.
        const idle = (): void => { client.destroy(); target.destroy() }
        target.setTimeout(idleTimeoutMs, idle)
        ;(client as Socket).setTimeout?.(idleTimeoutMs, idle)
      }
      const end = (): void => {
        tunnels.delete(tunnel)
        client.destroy()
        target.destroy()
      }
      target.once('error', end)
      target.once('close', () => {
        tunnels.delete(tunnel)
        if (!client.writableEnded) client.end()
      })
      client.once('close', end)
    })
  }

  return {
    tunnels,
    proxy (req, client, head, ctx, accept) {
      const upgrade = readUpgrade(req)
      const plain = tunnelsHttp(upgrade)
      const headers = forwardHeaders(req.rawHeaders, { ...ctx, upgrade: !plain }, upstream.host)
      if (plain) headers.push('host', upstream.host, 'connection', 'close')
      let settled = false
      const upstreamReq = send({
        host: hostname,
        port,
        method: req.method ?? 'GET',
        path: upstreamPath(upstream.basePath, req.url ?? '/'),
        headers,
        setHost: false,
        agent: false,
        ca: options.ca,
        servername: secure && hostname !== '' && !/^[\d.:]+$/.test(hostname) ? hostname : undefined,
        ALPNProtocols: secure ? ['http/1.1'] : undefined
      } as RequestOptions)
      const fail = (pages: Negotiated): void => {
        if (settled) return
        settled = true
        upstreamReq.destroy()
        writeRawNegotiated(client, req.method, accept, pages)
      }
      const timer = setTimeout(() => { fail(GATEWAY_TIMEOUT) }, options.upstreamTimeoutMs)
      timer.unref()
      const settle = (): void => { settled = true; clearTimeout(timer) }
      upstreamReq.once('upgrade', settle)
      open(req, client, head, upstreamReq, plain)
      upstreamReq.once('response', (res) => {
        settle()
        relay(req, client, res)
      })
      upstreamReq.on('error', (err) => {
        if (settled) { client.destroy(); return }
        clearTimeout(timer)
        logger.debug({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'upstream upgrade failed')
        fail(BAD_GATEWAY)
      })
      client.once('close', () => {
        clearTimeout(timer)
        if (!settled) upstreamReq.destroy()
      })
      // No request body: the client's bytes after the handshake are held until a 101.
      upstreamReq.end()
    },
    close (tunnel, code) {
      tunnels.delete(tunnel)
      const { client } = tunnel
      if (client.destroyed) return
      client.unpipe()
      if (tunnel.websocket && client.writable) client.end(closeFrame(code))
      else client.end()
      // The upstream side is cut by the client's 'close'; a client that never acknowledges is cut after a second.
      setTimeout(() => { client.destroy() }, 1000).unref()
    },
    destroyAll () {
      for (const tunnel of tunnels) tunnel.client.destroy()
      tunnels.clear()
    }
  }
}

/** A non-101 answer to an upgrade: relayed as a close-delimited response, then the connection ends. */
function relay (req: IncomingMessage, client: Duplex, res: IncomingMessage): void {
  if (client.destroyed) { res.destroy(); return }
  client.write(rawHead(res.statusCode ?? 502, relayHeaders(res.rawHeaders), res.statusMessage))
  if (req.method === 'HEAD') { res.destroy(); client.end(); return }
  res.pipe(client)
  res.once('error', () => { client.destroy() })
  client.once('close', () => { res.destroy() })
}

function readUpgrade (req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).length === 7 && (raw[i] as string).toLowerCase() === 'upgrade') return raw[i + 1]
  }
  return undefined
}
