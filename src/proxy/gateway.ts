import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import Fastify, { LogController } from 'fastify'
import type { AppContext } from '../context.js'
import { ConfigError } from '../errors.js'
import { readCookieValues } from '../http/cookies.js'
import type { RequestFlagsResolver } from '../flags/request-flags.js'
import { BYPASS_COOKIE } from '../maintenance/bypass-cookie.js'
import { CidrSet, unmapIp } from '../net/cidr-set.js'
import { decide } from '../maintenance/decide.js'
import { prefersJson, type Rendered } from '../maintenance/page.js'
import { emptyTarget, isReservedPath, normalizeTarget, parseTarget } from '../http/paths.js'
import type { Decision, RequestFacts } from '../maintenance/types.js'
import { createAccessLog } from './access-log.js'
import { bypassAnswer, createStatusAnswers, redirectAnswer } from './answers.js'
import { createClientAddress } from './client-address.js'
import { createForwarder, writeRendered } from './forwarder.js'
import type { ForwardContext } from './headers.js'
import { emptyRequestHeaders, hasRepeatedHost, readRequestHeaders } from '../http/request-headers.js'
import { createGatewayServer } from './gateway-server.js'
import { watchMaintenance } from './maintenance-view.js'
import { createOutcomeMetrics, type Outcome } from './outcomes.js'
import { upstreamCa } from './upstream-tls.js'
import { createUpgradeProxy, writeRawResponse } from './websocket.js'

export interface GatewayOptions { requestFlags?: RequestFlagsResolver | null }

const NONE_RESOLVED = Object.freeze({ header: '', gateStatus: 0 })
const NO_FLAGS: RequestFlagsResolver = Object.freeze({ resolve: () => NONE_RESOLVED })

export interface Gateway {
  listen (host: string, port: number): Promise<string /* bound host:port */>
  close (drainMs: number): Promise<void>
  /** Re-reads the page template (SIGHUP) and re-renders the answers; throws ConfigError, keeping the old page, when it cannot be read. */
  reloadPage (path: string | undefined): void
}

function formatAddress (address: string, port: number): string {
  return `${address.includes(':') ? `[${address}]` : address}:${port}`
}

function firstValue (value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  const text = typeof value === 'string' ? value : value[0]
  if (text === undefined) return undefined
  const comma = text.indexOf(',')
  return (comma < 0 ? text : text.slice(0, comma)).trim()
}

/**
 * The gateway port. Fastify owns the server and the reserved `/__drawbridge/*`
 * routes, but every other request is handled directly on Node's req/res in the
 * server's request listener: resolve the client, normalise the path, decide,
 * then proxy through the undici pool or write a pre-rendered answer. No hooks,
 * promises, routing or logging on that path: it is the product's cost.
 */
export async function buildGateway (ctx: AppContext, options: GatewayOptions = {}): Promise<Gateway> {
  const { config, logger, metrics } = ctx
  const log = logger.child({ component: 'gateway' })
  let trusted: CidrSet
  try {
    trusted = CidrSet.compile(config.trustedProxies)
  } catch (err) {
    throw new ConfigError('trustedProxies', (err as Error).message)
  }
  const clientAddress = createClientAddress(trusted)
  const ca = upstreamCa(config)
  const forwarder = createForwarder(config, log, metrics, ca)
  const upgrades = createUpgradeProxy(forwarder.upstream, { upstreamTimeoutMs: config.upstreamTimeoutMs, idleTimeoutMs: config.tunnelIdleTimeoutMs, logger: log, ca })
  const bodyTimeoutMs = config.bodyTimeoutMs
  // No flags configured: a resolver that always answers "no header, no gate", so the hot path never asks.
  const requestFlags: RequestFlagsResolver = options.requestFlags ?? NO_FLAGS
  const cookieTtl = config.bypassCookieTtlSeconds

  const { counters, responses } = createOutcomeMetrics(metrics)
  metrics.inFlight.source(() => forwarder.inFlight)
  metrics.openTunnels.source(() => upgrades.tunnels.size)

  // After every listener (the flags runtime too) has seen a new state, tunnels are decided again.
  const view = watchMaintenance(ctx, log, () => { recheckTunnels() })
  const accessLog = createAccessLog(config, logger, view.isSecretPath)
  let closing = false

  // The request path is synchronous from here to the decision: the header
  // scan and the facts object are reused instead of allocated per request.
  const headers = emptyRequestHeaders()
  const facts: RequestFacts = { method: 'GET', path: '/', normalizedPath: '/', ip: '', bypassCookie: undefined, bypassHeader: undefined }

  function decideFor (req: IncomingMessage, rawPath: string, path: string, ip: string, now: number): Decision {
    facts.method = req.method ?? 'GET'
    facts.path = rawPath
    facts.normalizedPath = path
    facts.ip = ip
    facts.bypassCookie = headers.cookie === undefined ? undefined : readCookieValues(headers.cookie, BYPASS_COOKIE)
    facts.bypassHeader = headers.bypass
    facts.methodOverride = headers.methodOverride
    return decide(facts, view.compiled, now)
  }

  function isHttps (req: IncomingMessage, peer: string): boolean {
    if ((req.socket as Socket & { encrypted?: boolean }).encrypted === true) return true
    return clientAddress.isTrusted(peer) && firstValue(headers.forwardedProto)?.toLowerCase() === 'https'
  }

  function forwardContext (req: IncomingMessage, peer: string, flags: string): ForwardContext {
    return {
      peer: unmapIp(peer),
      trustedPeer: clientAddress.isTrusted(peer),
      encrypted: (req.socket as Socket & { encrypted?: boolean }).encrypted === true,
      flags,
      upgrade: false
    }
  }

  const statusAnswer = createStatusAnswers()
  function gateResponse (status: number): Rendered {
    return statusAnswer(status, prefersJson(headers.accept))
  }

  /**
   * The one pipeline, for plain requests and upgrades alike: client
   * address, decision, flags, counting. It fills `routed`
   * (reused: everything up to the writer is synchronous); the two writers
   * below only turn it into an HTTP response or bytes on a raw socket.
   */
  interface Routed { rule: Outcome, ip: string, peer: string, flags: string, answer: Rendered | null }
  const routed: Routed = { rule: 'maintenance-off', ip: '', peer: '', flags: '', answer: null }

  function route (req: IncomingMessage, rawPath: string, path: string, now: number): Routed {
    readRequestHeaders(req.rawHeaders, headers)
    const peer = req.socket.remoteAddress ?? ''
    const ip = clientAddress.resolve(peer, headers.forwardedFor)
    const decision = decideFor(req, rawPath, path, ip, now)
    routed.ip = ip
    routed.peer = peer
    routed.flags = ''
    routed.answer = null
    routed.rule = decision.rule
    switch (decision.action) {
      case 'pass': {
        const flags = requestFlags.resolve(req, path, ip)
        if (flags.gateStatus !== 0) {
          routed.rule = 'flag-gate'
          routed.answer = gateResponse(flags.gateStatus)
        } else {
          routed.flags = flags.header
        }
        break
      }
      case 'set-bypass': routed.answer = bypassAnswer(view.compiled.signer?.issue(now, cookieTtl) ?? '', cookieTtl, isHttps(req, peer)); break
      case 'redirect': routed.answer = redirectAnswer(decision.location); break
      case 'reject': routed.answer = gateResponse(decision.status); break
      case 'block': routed.answer = prefersJson(headers.accept) ? view.compiled.responses(now).json : view.compiled.responses(now).html
    }
    counters[routed.rule].inc()
    return routed
  }

  /** Access-logs a sampled request (never the bypass URL: its path is the secret). */
  function record (req: IncomingMessage, res: ServerResponse | null, path: string, r: Routed): void {
    if (accessLog !== null) accessLog(req, res, path, r.answer?.status ?? 101, r.ip, r.rule)
  }

  /**
   * A request body that stops moving for bodyTimeoutMs is cut (nginx's
   * client_body_timeout). The socket timeout measures inactivity, so a long
   * upload that keeps sending is never cut. The handlers are created once and
   * take the request as `this`: nothing allocated per request.
   */
  function watchBody (req: IncomingMessage): void {
    req.setTimeout(bodyTimeoutMs, onStalledBody)
    req.once('end', onBodyEnd)
  }
  function onStalledBody (this: IncomingMessage): void { this.socket.destroy() }
  function onBodyEnd (this: IncomingMessage): void {
    this.off('timeout', onStalledBody)
    // Only our own timer: after an early response Node may have armed its keep-alive timeout instead.
    const socket = this.socket as Socket & { timeout?: number }
    if (socket.timeout === bodyTimeoutMs) socket.setTimeout(0)
  }

  /** Writer for plain requests. `expectsContinue`: the client waits for `100 Continue` before sending its body. */
  /**
   * Parses the target strictly (paths.ts). Refused: false, the caller answers
   * 400. Else the upstream is sent the normalised target (`req.url` is what
   * both writers forward), so it acts on the path decided on.
   */
  const target = emptyTarget()
  function acceptTarget (req: IncomingMessage): boolean {
    const url = req.url ?? '/'
    if (!parseTarget(url, target) || hasRepeatedHost(req.rawHeaders)) {
      counters['bad-target'].inc()
      readRequestHeaders(req.rawHeaders, headers)
      return false
    }
    if (target.forward !== url) req.url = target.forward
    return true
  }

  function onRequest (req: IncomingMessage, res: ServerResponse, fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void, expectsContinue = false): void {
    const started = performance.now()
    if (!acceptTarget(req)) {
      // Not logged: the target may hold the secret. The connection is not reused after a malformed request.
      res.shouldKeepAlive = false
      writeRendered(res, req.method, gateResponse(400))
      responses['bad-target'].record(req.method, 400, started)
      return
    }
    const path = target.path
    const rawPath = path
    if (isReservedPath(path)) {
      counters.reserved.inc()
      if (expectsContinue) res.writeContinue()
      fastifyHandler(req, res)
      return
    }
    const r = route(req, rawPath, path, Date.now())
    if (closing) res.shouldKeepAlive = false
    record(req, res, path, r)
    if (r.answer !== null) {
      // Refused before the body was asked for: answer now, never read it (the connection closes instead).
      if (expectsContinue) res.shouldKeepAlive = false
      writeRendered(res, req.method, r.answer)
      responses[r.rule].record(req.method, r.answer.status, started)
      return
    }
    if (expectsContinue) res.writeContinue()
    const hasBody = headers.transferEncoding !== undefined || (headers.contentLength !== undefined && headers.contentLength !== '0')
    if (hasBody && bodyTimeoutMs > 0) watchBody(req)
    forwarder.forward(req, res, forwardContext(req, r.peer, r.flags), hasBody, headers.accept, responses[r.rule], started)
  }

  /** Writer for upgrades: the same answers as bytes on the socket, or a tunnel once the upstream says 101. */
  function onUpgrade (req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => { socket.destroy() })
    if (!acceptTarget(req)) {
      writeRawResponse(socket, req.method, gateResponse(400))
      return
    }
    const path = target.path
    const rawPath = path
    if (closing) {
      writeRawResponse(socket, req.method, gateResponse(503))
      return
    }
    if (isReservedPath(path)) {
      counters.reserved.inc()
      writeRawResponse(socket, req.method, gateResponse(404))
      return
    }
    const r = route(req, rawPath, path, Date.now())
    record(req, null, path, r)
    responses[r.rule].record(req.method, r.answer?.status ?? 101, null)
    if (r.answer !== null) writeRawResponse(socket, req.method, r.answer)
    else upgrades.proxy(req, socket, head, forwardContext(req, r.peer, r.flags), headers.accept)
  }

  /**
   * Tunnels were let through under the gate as it was when they opened. When
   * it changes (maintenance on, a window starts, a gate applies), each is
   * decided again with its handshake's facts; the ones now refused are closed
   * (WebSocket close 1012 "service restart", then the connection).
   */
  function recheckTunnels (): void {
    if (upgrades.tunnels.size === 0) return
    const now = Date.now()
    for (const tunnel of upgrades.tunnels) {
      const req = tunnel.req
      // req.url is the normalised target by now, so it parses.
      const path = normalizeTarget(req.url ?? '/')
      if (path === null) continue
      const r = route(req, path, path, now)
      if (r.answer !== null) upgrades.close(tunnel, 1012)
    }
  }
  const tunnelSweep = setInterval(recheckTunnels, 1000)
  tunnelSweep.unref()

  let server: Server | null = null
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: false,
    routerOptions: { ignoreDuplicateSlashes: true },
    serverFactory: (handler) => {
      server = createGatewayServer(config, metrics, {
        request: (req, res, expectsContinue) => { onRequest(req, res, handler, expectsContinue) },
        upgrade: onUpgrade
      })
      return server
    }
  })

  app.get('/__drawbridge/status', async (_request, reply) => {
    const now = Date.now()
    const compiled = view.compiled
    const active = compiled.isActive(now)
    void reply.header('cache-control', 'no-store')
    return {
      maintenance: active,
      retryAfter: active ? compiled.retryAfterAt(now) : null,
      endsAt: compiled.endsAt,
      message: compiled.state.message
    }
  })

  await app.ready()

  return {
    async listen (host, port) {
      await app.listen({ host, port })
      const address = server?.address()
      if (address === null || address === undefined || typeof address === 'string') return `${host}:${port}`
      return formatAddress(address.address, address.port)
    },
    reloadPage (path) {
      view.reloadPage(path)
    },
    async close (drainMs) {
      if (closing) return
      closing = true
      view.stop()
      clearInterval(tunnelSweep)
      const srv = server
      // Stop accepting; idle keep-alive connections close now, busy ones after their response.
      const closed = app.close()
      srv?.closeIdleConnections()
      // Connections busy at close time go idle when their response ends; close them as they do.
      const sweeper = setInterval(() => { srv?.closeIdleConnections() }, 50)
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<void>((resolve) => { timer = setTimeout(resolve, drainMs) })
      await Promise.race([closed, deadline])
      clearTimeout(timer)
      clearInterval(sweeper)
      // Whatever is still running after the drain period is cut.
      srv?.closeAllConnections()
      upgrades.destroyAll()
      await closed
      await Promise.race([forwarder.close(), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
      await forwarder.destroy()
    }
  }
}
