import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/schema.js'
import type { Metrics } from '../metrics.js'
import { watchConnections } from './response-metrics.js'

export interface GatewayHandlers {
  /** `expectsContinue`: the client waits for `100 Continue` before it sends its body. */
  request: (req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) => void
  upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
}

/** The gateway port's HTTP server and its bounds; the handlers decide everything else. */
export function createGatewayServer (config: Config, metrics: Metrics, handlers: GatewayHandlers): Server {
  // requestTimeout 0: a long upload is fine while it keeps moving (bodyTimeoutMs
  // cuts one that stalls). headersTimeout must be explicit: Node derives
  // it from requestTimeout, and 0 would let a slowloris client drip forever.
  // The checking interval bounds how late past headersTimeout the cut comes.
  const server = createServer({
    requestTimeout: 0,
    headersTimeout: config.headersTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs)
  }, (req, res) => { handlers.request(req, res, false) })
  // Expect: 100-continue is answered only once the request is let through (Node would send it unasked).
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => { handlers.request(req, res, true) })
  // Longer than the idle timeouts of the load balancers usually in front
  // (60 s), so they never reuse a connection the gateway is closing. Fastify's default.
  server.keepAliveTimeout = 72_000
  server.on('upgrade', handlers.upgrade)
  // A gateway, not a forward proxy: CONNECT gets a plain answer (nginx says 400) rather than a silent close.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => { socket.destroy() })
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
  })
  watchConnections(server, metrics)
  return server
}

/**
 * Graceful stop of the gateway port: stop accepting; idle keep-alive
 * connections close now, busy ones as their response ends; whatever still
 * runs after `drainMs` is cut, and `cut` ends what the server does not own
 * (tunnels: the server only closes once they are gone).
 */
export async function drainServer (app: FastifyInstance, server: Server | null, drainMs: number, cut: () => void): Promise<void> {
  const closed = app.close()
  server?.closeIdleConnections()
  // Connections busy at close time go idle when their response ends; close them as they do.
  const sweeper = setInterval(() => { server?.closeIdleConnections() }, 50)
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, drainMs) })
  await Promise.race([closed, deadline])
  clearTimeout(timer)
  clearInterval(sweeper)
  server?.closeAllConnections()
  cut()
  await closed
}
