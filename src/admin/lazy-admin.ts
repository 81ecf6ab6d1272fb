import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import type { AppContext } from '../context.js'
import { errors } from '../errors.js'
import { buildAdmin, PROBE_PATHS, type AdminInfo } from './app.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * The admin port as an idle gateway needs it. Orchestrators probe `/healthz`
 * and `/readyz` and Prometheus scrapes `/metrics` every few seconds; nothing
 * else comes until an operator or an OFREP client does. So the port starts
 * with a probes-only app, and the first request for anything else builds the
 * full admin app (the products' routes, their schemas and validators: about
 * 7 MB of an idle process's RSS, measured) and hands it that request and every
 * later one. Both apps come from buildAdmin with the same auth hook, error
 * handler and body rules, so which one answers never changes what is allowed;
 * a request that arrives during the build waits for it (its body unread).
 */
export class LazyAdminPort {
  private full: FastifyInstance | null = null
  private building: Promise<FastifyInstance> | null = null
  private probes: FastifyInstance | null = null

  constructor (private readonly ctx: AppContext, private readonly info: AdminInfo) {}

  /** Builds the probes-only app on a server whose requests go through dispatch(). */
  async prepare (): Promise<void> {
    const { config } = this.ctx
    this.probes = await buildAdmin(this.ctx, this.info, {
      scope: 'probes',
      serverFactory: (handler: Handler) => {
        // What Fastify would set on a server it made itself from buildAdmin's options.
        const server = createServer({
          headersTimeout: config.adminHeadersTimeoutMs,
          requestTimeout: config.adminRequestTimeoutMs,
          connectionsCheckingInterval: Math.min(1000, config.adminHeadersTimeoutMs)
        }, (req, res) => { this.dispatch(req, res, handler) })
        server.keepAliveTimeout = config.adminKeepAliveTimeoutMs
        return server
      }
    })
  }

  get server (): Server {
    return this.app().server
  }

  async listen (host: string, port: number): Promise<AddressInfo> {
    await this.app().listen({ host, port })
    return this.server.address() as AddressInfo
  }

  /** Whether an operator's request has made the port build the full app yet. */
  get loaded (): boolean {
    return this.full !== null
  }

  async close (): Promise<void> {
    // A build under way finishes first, so its onClose hooks (SSE streams, pools) run too.
    const full = await this.building?.catch(() => null)
    await Promise.all([this.probes?.close(), full?.close()])
  }

  private app (): FastifyInstance {
    if (this.probes === null) throw new Error('LazyAdminPort.prepare() was not awaited')
    return this.probes
  }

  private dispatch (req: IncomingMessage, res: ServerResponse, probes: Handler): void {
    if (this.full !== null) {
      this.full.routing(req, res)
      return
    }
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    // Only an exact probe path stays on the probes app; anything else, however spelled, goes to the full one.
    if (PROBE_PATHS.has(q < 0 ? url : url.slice(0, q))) {
      probes(req, res)
      return
    }
    this.loadFull().then((full) => { full.routing(req, res) }, (err: unknown) => {
      this.ctx.logger.error({ err }, 'admin: could not build the admin API')
      const error = new errors.DRAWBRIDGE_ERR_INTERNAL()
      if (!res.headersSent) res.writeHead(error.statusCode, { 'content-type': 'application/json; charset=utf-8', connection: 'close' })
      res.end(JSON.stringify({ statusCode: error.statusCode, error: 'Internal Server Error', code: error.code, message: error.message }))
    })
  }

  private async loadFull (): Promise<FastifyInstance> {
    this.building ??= this.build()
    return await this.building
  }

  private async build (): Promise<FastifyInstance> {
    try {
      const started = performance.now()
      const full = await buildAdmin(this.ctx, this.info)
      // The build runs while the gateway serves: let its requests through between the steps.
      await yieldToEventLoop()
      await full.ready()
      await yieldToEventLoop()
      this.full = full
      this.ctx.logger.debug({ ms: Math.round(performance.now() - started) }, 'admin: built the admin API on its first request')
      return full
    } catch (err) {
      // A failed build is retried by the next request rather than remembered.
      this.building = null
      throw err
    }
  }
}
