import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { Pool, type Dispatcher } from 'undici'
import type { Config } from '../config/schema.js'
import { ConfigError } from '../errors.js'
import { STATUS_CLASSES, statusClassIndex, type Metrics } from '../metrics.js'
import { prefersJson, type Negotiated, type Rendered } from '../maintenance/page.js'
import { BAD_GATEWAY, GATEWAY_TIMEOUT } from './error-pages.js'
import { forwardHeaders, responseHeaders, type ForwardContext } from './headers.js'
import type { ResponseRecorder } from './response-metrics.js'
import { upstreamCa } from './upstream-tls.js'

/**
 * Forwarding to the upstream through one undici Pool (keep-alive, optional
 * pipelining). Bodies stream both ways with backpressure: the request body is
 * handed to undici as the IncomingMessage stream, and response chunks are
 * written to the client with the upstream paused whenever the client's buffer
 * is full, so a 1 GiB download holds a few chunks in memory, not the file.
 */

export interface Upstream {
  url: URL
  origin: string
  /** Base path of the upstream URL without a trailing slash ('' for `/`). */
  basePath: string
  /** host[:port] as a Host header. */
  host: string
}

export function parseUpstream (text: string | undefined): Upstream {
  if (text === undefined || text === '') throw new ConfigError('upstream', 'is required (the base URL of the application)')
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError('upstream', `"${text}" is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError('upstream', `must be http:// or https://, got ${url.protocol}`)
  if (url.username !== '' || url.password !== '') throw new ConfigError('upstream', 'credentials in the URL are not supported')
  const basePath = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname
  return { url, origin: url.origin, basePath, host: url.host }
}

/** Origin-form target for the upstream: base path + the client's path and query, absolute-form reduced. */
export function upstreamPath (basePath: string, url: string): string {
  let target = url
  if (target.charCodeAt(0) !== 47) {
    const scheme = target.indexOf('://')
    if (scheme > 0) {
      const slash = target.indexOf('/', scheme + 3)
      const query = target.indexOf('?', scheme + 3)
      target = slash >= 0 && (query < 0 || slash < query) ? target.slice(slash) : '/' + (query >= 0 ? target.slice(query) : '')
    } else {
      target = '/' + target
    }
  }
  return basePath === '' ? target : basePath + target
}

/** Writes a pre-rendered response; HEAD gets the headers only. */
export function writeRendered (res: ServerResponse, method: string | undefined, response: Rendered): void {
  res.writeHead(response.status, response.headers as string[])
  if (method === 'HEAD') res.end()
  else res.end(response.body)
}

export function writeNegotiated (res: ServerResponse, method: string | undefined, accept: string | undefined, pages: Negotiated): void {
  writeRendered(res, method, prefersJson(accept) ? pages.json : pages.html)
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT'])

/** Upstream errors are logged at most this often: an outage must not flood the log. */
const ERROR_LOG_INTERVAL_MS = 5000

export interface Forwarder {
  /** The configured name (`default` for `--upstream`). */
  readonly name: string
  readonly upstream: Upstream
  /** The keep-alive pool, for health checks that should travel the same road as requests. */
  readonly pool: Dispatcher
  /** Requests forwarded and not finished (the requests-in-flight gauge). */
  readonly inFlight: number
  /**
   * `hasBody`: the request declares a body (Content-Length > 0 or Transfer-Encoding); `accept` picks the error page;
   * `recorder` and `started` (performance.now() at arrival) count the response when it ends.
   */
  forward (req: IncomingMessage, res: ServerResponse, ctx: ForwardContext, hasBody: boolean, accept: string | undefined, recorder: ResponseRecorder, started: number): void
  /** Graceful: waits for queued and running requests. */
  close (): Promise<void>
  destroy (): Promise<void>
}

interface Shared {
  latency: Metrics['upstreamLatency']
  /** `drawbridge_upstream_responses_total{upstream, code}` children by status class, for per-upstream error rates. */
  byClass: Array<{ inc: (by?: number) => void }>
  errors502: { inc: (by?: number) => void }
  errors504: { inc: (by?: number) => void }
  reportError: (err: Error, status: number) => void
  inFlight: number
}

/**
 * One proxied exchange, as an undici dispatch handler. It uses undici's
 * low-level handler interface (onConnect/onHeaders/onData/onComplete/onError):
 * that is what undici's client calls natively, so there is no per-request
 * wrapper and headers stay the raw list instead of a parsed object. undici 7
 * wraps a handler of the newer interface (onRequestStart, onResponseStart...)
 * per request (UnwrapHandler, which also parses the headers): a prototype of
 * this class on it ran 4 % more instructions per request. The move belongs
 * with undici 8, where that interface is the native one; it needs Node 22.19.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private abortUpstream: ((err?: Error) => void) | null = null
  private resumeUpstream: (() => void) | null = null
  private finished = false
  private readonly started = performance.now()
  private status = 0

  constructor (private readonly req: IncomingMessage, private readonly res: ServerResponse, private readonly accept: string | undefined, private readonly shared: Shared,
    private readonly recorder: ResponseRecorder, private readonly arrived: number) {
    shared.inFlight++
    res.once('close', this.onClientClose)
  }

  /** Ends the exchange once: counts the response (status 0: the client left first, not counted). */
  private finish (status: number): void {
    this.finished = true
    this.shared.inFlight--
    if (status === 0) return
    this.recorder.record(this.req.method, status, this.arrived)
    ;(this.shared.byClass[statusClassIndex(status)] as { inc: () => void }).inc()
  }

  private readonly onClientClose = (): void => {
    // The client went away before the upstream finished: stop the upstream too.
    if (!this.finished) {
      this.finish(0)
      this.abortUpstream?.()
    }
  }

  private readonly onDrain = (): void => { this.resumeUpstream?.() }

  onConnect (abort: (err?: Error) => void): void {
    this.abortUpstream = abort
    if (this.finished) abort()
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    this.shared.latency.observe((performance.now() - this.started) / 1000)
    this.resumeUpstream = resume
    const res = this.res
    if (res.destroyed) return false
    // 1xx (e.g. 103 Early Hints) are not relayed: Node's ServerResponse cannot send them generically.
    if (statusCode < 200) return true
    this.status = statusCode
    const headers = responseHeaders(rawHeaders)
    try {
      if (statusText !== '' && statusText !== undefined) res.writeHead(statusCode, statusText, headers)
      else res.writeHead(statusCode, headers)
    } catch (err) {
      // Node refuses a header the upstream sent (invalid name or value): that is a bad gateway, not a crash.
      this.abortUpstream?.(err as Error)
      this.onError(Object.assign(new Error(`invalid upstream response header: ${(err as Error).message}`), { code: 'DRAWBRIDGE_BAD_UPSTREAM_HEADER' }))
      return false
    }
    return true
  }

  onData (chunk: Buffer): boolean {
    const res = this.res
    if (res.destroyed) return false
    if (res.write(chunk)) return true
    res.once('drain', this.onDrain)
    return false
  }

  onComplete (): void {
    if (!this.finished) this.finish(this.status)
    this.res.end()
  }

  onError (err: Error): void {
    if (this.finished) return
    const res = this.res
    if (res.destroyed) { this.finish(0); return }
    if (res.headersSent) {
      this.finish(this.status)
      if (this.status === 304 && (err as NodeJS.ErrnoException).code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
        // RFC 9110 section 8.6 lets a 304 carry the Content-Length its 200 would have had; undici 7
        // counts the missing body as a mismatch (client-h1.js onMessageComplete) and drops the
        // upstream connection. The response was complete: the client gets it and keeps its connection.
        res.end()
        return
      }
      // Mid-body failure: the status is gone; cutting the connection is the only honest signal.
      res.destroy(err)
      return
    }
    const code = (err as NodeJS.ErrnoException).code ?? ''
    const status = TIMEOUT_CODES.has(code) ? 504 : 502
    this.finish(status)
    if (status === 504) this.shared.errors504.inc()
    else this.shared.errors502.inc()
    this.shared.reportError(err, status)
    // A half-read request body cannot be reused on this connection.
    if (!this.req.complete) res.shouldKeepAlive = false
    writeNegotiated(res, this.req.method, this.accept, status === 504 ? GATEWAY_TIMEOUT : BAD_GATEWAY)
  }
}

/** `ca`: CAs for an https upstream, read once at start (see upstream-tls.ts). */
export function createForwarder (name: string, url: string, config: Config, logger: Logger, metrics: Metrics, ca = upstreamCa(config)): Forwarder {
  const upstream = parseUpstream(url)
  const pool = new Pool(upstream.origin, {
    ...(ca === undefined ? {} : { connect: { ca } }),
    connections: config.upstreamConnections,
    pipelining: config.upstreamPipelining,
    headersTimeout: config.upstreamTimeoutMs,
    // Measured only while the body flows (undici stops the clock while we hold it paused for a slow client).
    bodyTimeout: Math.max(config.upstreamTimeoutMs, 300_000),
    connectTimeout: Math.min(config.upstreamTimeoutMs, 10_000),
    keepAliveTimeout: 4_000
  })
  let lastLogged = 0
  let suppressed = 0
  const shared: Shared = {
    inFlight: 0,
    latency: metrics.upstreamLatency,
    byClass: STATUS_CLASSES.map((code) => metrics.upstreamResponses.labels({ upstream: name, code })),
    errors502: metrics.upstreamErrors.labels({ status: '502' }),
    errors504: metrics.upstreamErrors.labels({ status: '504' }),
    reportError (err, status) {
      const now = Date.now()
      if (now - lastLogged < ERROR_LOG_INTERVAL_MS) { suppressed++; return }
      logger.warn({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, status, upstream: name, origin: upstream.origin, suppressed }, 'upstream request failed')
      lastLogged = now
      suppressed = 0
    }
  }

  return {
    name,
    upstream,
    pool,
    get inFlight () { return shared.inFlight },
    forward (req, res, ctx, hasBody, accept, recorder, started) {
      const exchange = new Exchange(req, res, accept, shared, recorder, started)
      pool.dispatch({
        path: upstreamPath(upstream.basePath, req.url ?? '/'),
        method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
        headers: forwardHeaders(req.rawHeaders, ctx, upstream.host),
        body: hasBody ? req : null
      }, exchange)
    },
    close: async () => { await pool.close() },
    destroy: async () => { await pool.destroy() }
  }
}
