import type { IncomingMessage, ServerResponse } from 'node:http'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify'
import type { AppContext } from '../context.js'
import { errors } from '../errors.js'
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../input/json-depth.js'
import { bearerMatcher, createAuthHook, isOpen } from './auth.js'
import { consoleSessions } from '../console/session.js'
import { adminErrorHandler } from './error-handler.js'
import { healthRoutes } from './health-routes.js'
import { metricsRoutes } from './metrics-routes.js'
import { createValidatorCompiler, formatSchemaErrors } from './validation.js'
import { LAZY_SCHEMA_CONTROLLER } from '../http/lazy-compilers.js'
import '../admin-plugin.js'

export interface AdminInfo {
  /** Bound gateway `host:port`, known only once it listens; used for bypass URLs. */
  gatewayAddress: () => string
}

export interface AdminBuildOptions {
  /**
   * `probes`: health and metrics only, what an idle gateway's admin port is
   * asked by orchestrators and scrapers (see lazy-admin.ts). Default: all.
   */
  scope?: 'all' | 'probes'
  /** The HTTP server to answer on (lazy-admin.ts puts a dispatcher in front). */
  serverFactory?: FastifyServerFactory
}

/** The exact paths the probes-only app answers. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics'])

/** Large enough for an allowlist of 100,000 CIDRs in one PATCH. */
const BODY_LIMIT = 4 * 1024 * 1024

/**
 * The admin API as a Fastify instance, not yet listening (tests use inject).
 * Every route passes the bearer-token hook unless it is marked public, and
 * every error leaves as `{statusCode, error, message, code}`.
 */
export async function buildAdmin (ctx: AppContext, info: AdminInfo, options: AdminBuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(options.serverFactory === undefined ? {} : { serverFactory: options.serverFactory }),
    loggerInstance: ctx.logger.child({ component: 'admin' }) as FastifyBaseLogger,
    // Scrapes and probes would flood the log; writes are logged by onResponse below.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // Flag keys (128 characters) and user ids (256) are path parameters; Fastify's default limit is 100.
    routerOptions: { maxParamLength: 512 },
    schemaErrorFormatter: formatSchemaErrors,
    schemaController: LAZY_SCHEMA_CONTROLLER,
    return503OnClosing: true,
    // A slow or silent client must not hold a connection (and a file descriptor)
    // on the port that controls the gateway. Node checks these timeouts every
    // connectionsCheckingInterval; answers may take as long as they need
    // (SSE streams, analysis), only the request itself is bounded.
    http: { headersTimeout: ctx.config.adminHeadersTimeoutMs, requestTimeout: ctx.config.adminRequestTimeoutMs, connectionsCheckingInterval: Math.min(1000, ctx.config.adminHeadersTimeoutMs) },
    keepAliveTimeout: ctx.config.adminKeepAliveTimeoutMs
  })
  // Node answers `Expect: 100-continue` by itself, inviting the body before
  // anyone looked at the token. Only a known token is invited; anyone else
  // gets the 401 first (and the connection closed, see close-unread.ts).
  const open = isOpen(ctx.config)
  const known = bearerMatcher(ctx.config)
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (open || known(req.headers.authorization) !== null) res.writeContinue()
    app.server.emit('request', req, res)
  })
  // Fastify's own JSON parser (prototype-poisoning keys refused), plus a depth
  // limit: what handles a body later (ajv, structuredClone, JSON.stringify into
  // the store) recurses, and a deeply nested body would overflow the stack there.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    parseJson(request, body as string, (err: Error | null, value?: unknown) => {
      if (err !== null) { done(err); return }
      if (nestsDeeperThan(value, MAX_JSON_DEPTH)) { done(new errors.DRAWBRIDGE_ERR_INVALID(`body must not nest deeper than ${MAX_JSON_DEPTH} levels`)); return }
      done(null, value)
    })
  })
  app.setValidatorCompiler(createValidatorCompiler())
  app.setErrorHandler(adminErrorHandler)
  app.setNotFoundHandler((request) => {
    throw new errors.DRAWBRIDGE_ERR_NOT_FOUND(`Route ${request.method} ${request.url.split('?')[0] ?? ''} not found`)
  })

  app.decorateRequest('actor', 'anonymous')
  app.decorateRequest('role', 'read')
  app.addHook('onRequest', createAuthHook(ctx.config, consoleSessions(ctx.config)))
  app.addHook('onResponse', (request, reply, done) => {
    const entry = { method: request.method, url: request.routeOptions.url ?? request.url.split('?')[0], statusCode: reply.statusCode, actor: request.actor, ms: Math.round(reply.elapsedTime) }
    if (request.method === 'GET' || request.method === 'HEAD') request.log.debug(entry, 'admin request')
    else request.log.info(entry, 'admin request')
    done()
  })

  const opts = { ctx }
  await app.register(healthRoutes, opts)
  await app.register(metricsRoutes, opts)
  if (options.scope === 'probes') return app
  // The products' routes load here, not at import: a probes-only port never loads them (idle memory, lazy-admin.ts).
  const [maintenance, audit, explain, flags, ofrep, unleash, migrations, routing, ui] = await Promise.all([
    import('../maintenance/admin-routes.js'), import('./audit-routes.js'), import('./explain-routes.js'),
    import('../flags/admin-routes.js'), import('../flags/ofrep-routes.js'), import('../flags/unleash-routes.js'), import('../migrations/admin-routes.js'),
    import('../upstreams/routing-routes.js'), import('../console/console-routes.js')
  ])
  // Importing evaluated the products' modules in one go; the gateway gets a turn before they register.
  await yieldToEventLoop()
  await app.register(maintenance.maintenanceRoutes, { ctx, gatewayAddress: info.gatewayAddress })
  await app.register(audit.auditRoutes, opts)
  await app.register(explain.explainRoutes, opts)
  // Area route plugins, one line each (owners add theirs):
  await app.register(flags.flagAdminRoutes, opts)
  await app.register(ofrep.ofrepRoutes, opts)
  await app.register(unleash.unleashRoutes, opts)
  await app.register(migrations.migrationRoutes, opts)
  await app.register(routing.routingRoutes, opts)
  await app.register(ui.consoleRoutes, opts)

  return app
}
