import type { IncomingMessage } from 'node:http'
import { STATUS_CODES } from 'node:http'
import { isIP, connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { Duplex } from 'node:stream'
import type { Logger } from 'pino'
import { prefersJson, type Negotiated, type Rendered } from '../maintenance/page.js'
import { BAD_GATEWAY, GATEWAY_TIMEOUT } from './error-pages.js'
import { upstreamPath, type Upstream } from './forwarder.js'
import { forwardHeaders, type ForwardContext } from './headers.js'

/**
 * WebSocket (and any other `Upgrade:`) requests. Once the decision is pass,
 * drawbridge writes the handshake to a raw upstream connection and pipes bytes
 * both ways: the upstream's 101 (or refusal) reaches the client verbatim, and
 * frames are never parsed. Blocked upgrades get the same answers as plain
 * requests, written on the socket.
 */

/** Writes a complete HTTP/1.1 response on a raw socket and closes it. */
export function writeRawResponse (socket: Duplex, method: string | undefined, response: Rendered | { status: number, headers: readonly string[], body: Buffer }): void {
  if (socket.destroyed) return
  let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}\r\n`
  for (let i = 0; i < response.headers.length; i += 2) head += `${response.headers[i] as string}: ${response.headers[i + 1] as string}\r\n`
  head += 'connection: close\r\n\r\n'
  socket.end(method === 'HEAD' ? head : Buffer.concat([Buffer.from(head, 'latin1'), response.body]))
}

export function writeRawNegotiated (socket: Duplex, method: string | undefined, accept: string | undefined, pages: Negotiated): void {
  writeRawResponse(socket, method, prefersJson(accept) ? pages.json : pages.html)
}

export interface UpgradeProxy {
  proxy (req: IncomingMessage, socket: Duplex, head: Buffer, ctx: ForwardContext, accept: string | undefined): void
  /** Sockets currently tunnelled (for draining on shutdown). */
  readonly open: ReadonlySet<Duplex>
  destroyAll (): void
}

/** `ca`: CAs for an https upstream (see upstream-tls.ts); undefined keeps Node's defaults. */
export function createUpgradeProxy (upstream: Upstream, timeoutMs: number, logger: Logger, ca?: string[]): UpgradeProxy {
  const open = new Set<Duplex>()
  const secure = upstream.url.protocol === 'https:'
  const port = Number(upstream.url.port) || (secure ? 443 : 80)
  const hostname = upstream.url.hostname.replace(/^\[|\]$/g, '')

  return {
    open,
    proxy (req, socket, head, ctx, accept) {
      const headers = forwardHeaders(req.rawHeaders, { ...ctx, upgrade: true }, upstream.host)
      let request = `${req.method ?? 'GET'} ${upstreamPath(upstream.basePath, req.url ?? '/')} HTTP/1.1\r\n`
      for (let i = 0; i < headers.length; i += 2) request += `${headers[i] as string}: ${headers[i + 1] as string}\r\n`
      request += '\r\n'

      const target: Socket = secure
        ? tlsConnect({ host: hostname, port, servername: isIP(hostname) === 0 ? hostname : undefined, ALPNProtocols: ['http/1.1'], ca })
        : netConnect({ host: hostname, port })
      // connecting: nothing heard from the upstream yet (errors become 502/504 pages);
      // tunnel: bytes flow both ways; failed: an error page is being written.
      let state: 'connecting' | 'tunnel' | 'failed' = 'connecting'
      open.add(socket)

      const fail = (pages: Negotiated): void => {
        state = 'failed'
        clearTimeout(timer)
        target.unpipe(socket)
        target.destroy()
        writeRawNegotiated(socket, req.method, accept, pages)
      }

      // No response from the upstream in time: 504, like a plain request.
      const timer = setTimeout(() => { if (state === 'connecting') fail(GATEWAY_TIMEOUT) }, timeoutMs)
      timer.unref()

      target.once(secure ? 'secureConnect' : 'connect', () => {
        target.setNoDelay(true)
        target.write(request)
        if (head.length > 0) target.write(head)
        socket.pipe(target)
      })
      target.once('data', () => {
        if (state === 'connecting') state = 'tunnel'
        clearTimeout(timer)
      })
      target.pipe(socket)
      target.on('error', (err) => {
        if (state === 'connecting') {
          logger.debug({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code } }, 'upstream upgrade failed')
          fail(BAD_GATEWAY)
        } else if (state === 'tunnel') {
          socket.destroy()
        }
      })
      target.once('close', () => {
        // A reset rather than a clean end: make sure the client side closes too.
        if (state === 'tunnel' && !socket.writableEnded) socket.end()
      })
      socket.on('error', () => { target.destroy() })
      socket.once('close', () => {
        clearTimeout(timer)
        open.delete(socket)
        target.destroy()
      })
    },
    destroyAll () {
      for (const socket of open) socket.destroy()
      open.clear()
    }
  }
}
