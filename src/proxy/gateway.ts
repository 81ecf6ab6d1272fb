import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify'
import type { AppContext } from '../context.js'
import { readCookieValues } from '../http/cookies.js'
import { identityReader, type RequestFlagsResolver } from '../flags/request-flags.js'
import { BYPASS_COOKIE } from '../maintenance/bypass-cookie.js'
import { decide } from '../maintenance/decide.js'
import { prefersJson, type Rendered } from '../maintenance/page.js'
import { emptyTarget, isReservedPath, normalizeTarget, parseTarget } from '../http/paths.js'
import type { Decision, RequestFacts } from '../maintenance/types.js'
import { createAccessLog } from './access-log.js'
import { bypassAnswer, createStatusAnswers, redirectAnswer } from './answers.js'
import { clientAddressFor, forwardContext, isHttps } from './client-address.js'
import { writeRendered, type Forwarder } from './forwarder.js'
import { emptyRequestHeaders, hasRepeatedHost, readRequestHeaders } from '../http/request-headers.js'
import { createGatewayServer, drainServer } from './gateway-server.js'
import { createBodyWatch } from './body-timeout.js'
import { statusRoute } from './status-route.js'
import { formatHostPort } from '../config/host-port.js'
import { watchMaintenance } from './maintenance-view.js'
import { createOutcomeMetrics, type Outcome } from './outcomes.js'
import { upstreamCa } from './upstream-tls.js'
import { writeRawResponse, type Tunnel, type UpgradeProxy } from './websocket.js'
import { createHeldRequests } from './held-requests.js'
import { createUpstreamSet, type UpstreamSet } from './upstream-set.js'
import { pickUpstream } from '../upstreams/routing.js'
import { LAZY_SCHEMA_CONTROLLER } from '../http/lazy-compilers.js'

export interface GatewayOptions {
  requestFlags?: RequestFlagsResolver | null
  /** The upstreams (server.ts builds them so the admin side can see them); built here when absent. */
  upstreams?: UpstreamSet
}

const NONE_RESOLVED = Object.freeze({ header: '', gateStatus: 0 })
const NO_FLAGS: RequestFlagsResolver = Object.freeze({ resolve: () => NONE_RESOLVED })

export interface Gateway {
  listen (host: string, port: number): Promise<string /* bound host:port */>
  close (drainMs: number): Promise<void>
  /** Re-reads the page template (SIGHUP) and re-renders the answers; throws ConfigError, keeping the old page, when it cannot be read. */
  reloadPage (path: string | undefined): void
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
  const clientAddress = clientAddressFor(config.trustedProxies)
  const upstreams = options.upstreams ?? createUpstreamSet(ctx, log, { audit: false, ca: upstreamCa(config) })
  ctx.upstreams ??= upstreams
  const { forwarders, upgrades: upgradeProxies, tunnels } = upstreams
  // The canary's key: the flags identity when configured, else the client address.
  const identity = identityReader(config.flagsIdentity)
  const held = createHeldRequests(config.pauseMaxHeld, config.pauseMaxHeldBytes)
  upstreams.countHeld(() => held.size)
  upstreams.onResume(() => { held.releaseAll() })
  const bodyTimeoutMs = config.bodyTimeoutMs
  // No flags configured: a resolver that always answers "no header, no gate", so the hot path never asks.
  const requestFlags: RequestFlagsResolver = options.requestFlags ?? NO_FLAGS
  const cookieTtl = config.bypassCookieTtlSeconds

  const { counters, responses } = createOutcomeMetrics(metrics)

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

  /** The socket's peer and the client address resolved from it (a getpeername() on a connection's first read). */
  function resolveAddress (req: IncomingMessage): void {
    const peer = req.socket.remoteAddress ?? ''
    routed.peer = peer
    routed.ip = clientAddress.resolve(peer, headers.forwardedFor)
  }

  /** `again`: a held request decided anew on release (already counted and logged once). */
  function route (req: IncomingMessage, rawPath: string, path: string, now: number, again = false): Routed {
    readRequestHeaders(req.rawHeaders, headers)
    // The decision reads the address only through an allowlist: without one, a refusal never
    // needs it (a 503 on a new connection costs no getpeername). What passes or is logged gets it.
    const addressFirst = !view.compiled.allow.isEmpty
    if (addressFirst) resolveAddress(req)
    else routed.ip = routed.peer = ''
    const decision = decideFor(req, rawPath, path, routed.ip, now)
    if (!addressFirst && (decision.action === 'pass' || decision.action === 'set-bypass' || accessLog !== null)) resolveAddress(req)
    const { ip, peer } = routed
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
      case 'set-bypass': routed.answer = bypassAnswer(view.compiled.signer?.issue(now, cookieTtl) ?? '', cookieTtl, isHttps(req, peer, clientAddress, headers.forwardedProto)); break
      case 'redirect': routed.answer = redirectAnswer(decision.location); break
      case 'reject': routed.answer = gateResponse(decision.status); break
      case 'block': routed.answer = prefersJson(headers.accept) ? view.compiled.responses(now).json : view.compiled.responses(now).html
    }
    if (!again) counters[routed.rule].inc()
    return routed
  }

  /** Index of the upstream this request goes to (one hash of its identity while a canary runs). */
  function upstreamFor (req: IncomingMessage, ip: string): number {
    const routing = upstreams.routing
    return routing.canary === null ? routing.active : pickUpstream(routing, identity(req) ?? ip)
  }

  /** Held while paused: anything that would be proxied, except the maintenance exceptPaths (health checks). */
  function holds (path: string): boolean {
    return upstreams.routing.paused && !closing && !view.compiled.excepted(path)
  }

  /** What a held request gets when it cannot wait any longer: the maintenance answer. */
  function pauseAnswer (accept: string | undefined): () => Rendered {
    return () => {
      const pages = view.compiled.responses(Date.now())
      return prefersJson(accept) ? pages.json : pages.html
    }
  }

  /** Access-logs a sampled request (never the bypass URL: its path is the secret). */
  function record (req: IncomingMessage, res: ServerResponse | null, path: string, r: Routed): void {
    if (accessLog !== null) accessLog(req, res, path, r.answer?.status ?? 101, r.ip, r.rule)
  }

  const watchBody = createBodyWatch(bodyTimeoutMs)

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
    dispatch(req, res, rawPath, path, started, expectsContinue, false)
  }

  /** Decides, then answers, holds (paused) or forwards. `again`: released from a pause. */
  function dispatch (req: IncomingMessage, res: ServerResponse, rawPath: string, path: string, started: number, expectsContinue: boolean, again: boolean): void {
    const r = route(req, rawPath, path, Date.now(), again)
    if (closing) res.shouldKeepAlive = false
    if (!again) record(req, res, path, r)
    if (r.answer !== null) {
      // Refused before the body was asked for: answer now, never read it (the connection closes instead).
      if (expectsContinue) res.shouldKeepAlive = false
      writeRendered(res, req.method, r.answer)
      responses[r.rule].record(req.method, r.answer.status, started)
      return
    }
    const hasBody = headers.transferEncoding !== undefined || (headers.contentLength !== undefined && headers.contentLength !== '0')
    if (!again && holds(path)) {
      const rule = r.rule
      const accept = headers.accept
      const answered = !held.hold(req, res, hasBody, upstreams.routing.pauseMaxMs,
        () => { dispatch(req, res, rawPath, path, started, expectsContinue, true) },
        pauseAnswer(accept))
      if (answered) responses[rule].record(req.method, res.statusCode, started)
      return
    }
    if (expectsContinue) res.writeContinue()
    if (hasBody && bodyTimeoutMs > 0) watchBody(req)
    const forwarder = forwarders[upstreamFor(req, r.ip)] as Forwarder
    forwarder.forward(req, res, forwardContext(req, r.peer, clientAddress, r.flags), hasBody, headers.accept, responses[r.rule], started)
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
    upgradeRouted(req, socket, head, rawPath, path, false)
  }

  function upgradeRouted (req: IncomingMessage, socket: Duplex, head: Buffer, rawPath: string, path: string, again: boolean): void {
    const r = route(req, rawPath, path, Date.now(), again)
    if (!again) {
      record(req, null, path, r)
      responses[r.rule].record(req.method, r.answer?.status ?? 101, null)
    }
    if (r.answer !== null) { writeRawResponse(socket, req.method, r.answer); return }
    if (!again && holds(path)) {
      held.holdUpgrade(req, socket, upstreams.routing.pauseMaxMs, () => { upgradeRouted(req, socket, head, rawPath, path, true) }, pauseAnswer(headers.accept))
      return
    }
    const proxy = upgradeProxies[upstreamFor(req, r.ip)] as UpgradeProxy
    proxy.proxy(req, socket, head, forwardContext(req, r.peer, clientAddress, r.flags), headers.accept)
  }

  /**
   * Tunnels were let through under the gate as it was when they opened. When
   * it changes (maintenance on, a window starts, a gate applies), each is
   * decided again with its handshake's facts; the ones now refused are closed
   * (WebSocket close 1012 "service restart", then the connection).
   */
  function recheckTunnels (): void {
    if (tunnels.size === 0) return
    const now = Date.now()
    for (const tunnel of tunnels) {
      const req = tunnel.req
      // req.url is the normalised target by now, so it parses.
      const path = normalizeTarget(req.url ?? '/')
      if (path === null) continue
      const r = route(req, path, path, now)
      if (r.answer !== null) closeTunnel(tunnel, 1012)
    }
  }
  // Any upstream's proxy closes any tunnel: closing only touches the tunnel's own sockets.
  const closeTunnel = (tunnel: Tunnel, code: number): void => { (upgradeProxies[0] as UpgradeProxy).close(tunnel, code) }
  const tunnelSweep = setInterval(recheckTunnels, 1000)
  tunnelSweep.unref()

  let server: Server | null = null
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: false,
    routerOptions: { ignoreDuplicateSlashes: true },
    schemaController: LAZY_SCHEMA_CONTROLLER,
    serverFactory: (handler) => {
      server = createGatewayServer(config, metrics, {
        request: (req, res, expectsContinue) => { onRequest(req, res, handler, expectsContinue) },
        upgrade: onUpgrade
      })
      return server
    }
  })

  statusRoute(app, view)

  await app.ready()

  return {
    async listen (host, port) {
      await app.listen({ host, port })
      const address = server?.address()
      if (address === null || address === undefined || typeof address === 'string') return `${host}:${port}`
      return formatHostPort(address.address, address.port)
    },
    reloadPage (path) {
      view.reloadPage(path)
    },
    async close (drainMs) {
      if (closing) return
      closing = true
      // Held requests cannot be released into a closing gateway: they get the maintenance answer now.
      held.expireAll()
      view.stop()
      clearInterval(tunnelSweep)
      await drainServer(app, server, drainMs, () => { for (const proxy of upgradeProxies) proxy.destroyAll() })
      await Promise.race([upstreams.close(), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
      await upstreams.destroy()
    }
  }
}
