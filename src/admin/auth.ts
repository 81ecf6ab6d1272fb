import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Config } from '../config/schema.js'
import { isOpen, tokenMatcher, type KnownToken, type TokenSettings } from '../config/tokens.js'
import { crossSiteRefusal } from '../console/cross-site.js'
import type { ConsoleSessions } from '../console/session.js'
import { errors } from '../errors.js'
import type { Role } from '../admin-plugin.js'

export { isOpen }

/**
 * The token a bearer `Authorization` header presents, or null. Every known
 * token is compared (see createAuthHook) so timing says nothing about which.
 */
export function bearerMatcher (config: TokenSettings): (header: string | undefined) => KnownToken | null {
  const match = tokenMatcher(config)
  return (header) => {
    const bearer = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header ?? '')
    return bearer === null ? null : match(bearer[1] as string)
  }
}

function requiredRole (request: FastifyRequest): Role {
  const configured = request.routeOptions.config.role
  if (configured !== undefined) return configured
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'admin'
}

/**
 * Bearer-token check for every admin route not marked `config: { public: true }`.
 * Tokens are compared as SHA-256 digests with timingSafeEqual: equal-length
 * inputs, so neither the token's content nor its length leaks through timing,
 * and every known token is compared so the position of a match does not either.
 * With no token configured at all the API is open (config only allows that on
 * a loopback address) and the caller is recorded as "anonymous".
 *
 * A request with no Authorization header may instead carry the operator
 * console's session cookie (`sessions`): it then acts as the token the
 * operator signed in with (its role, and its name in the audit log), and a
 * change must also pass the console's cross-site checks (console/cross-site.ts).
 */
export function createAuthHook (config: Pick<Config, 'adminToken' | 'readToken' | 'tokens'>, sessions?: ConsoleSessions): onRequestHookHandler {
  const match = bearerMatcher(config)
  const matchApiKey = tokenMatcher(config)
  const open = isOpen(config)

  /**
   * A bearer token; on the routes that say so, OFREP's `X-API-Key` instead, or
   * the bare `Authorization: <token>` Unleash SDKs send.
   */
  const presentedToken = (request: FastifyRequest): ReturnType<typeof match> => {
    const { authorization } = request.headers
    const config = request.routeOptions.config
    if (config.apiKey === true && authorization === undefined) {
      const key = request.headers['x-api-key']
      return matchApiKey(typeof key === 'string' ? key : undefined)
    }
    if (config.rawToken === true && authorization !== undefined && !/^Bearer\s/i.test(authorization)) return matchApiKey(authorization)
    return match(authorization)
  }

  /** The console session standing in for a token, an Error when the request looks forged, or null. */
  const fromSession = (request: FastifyRequest): Pick<KnownToken, 'actor' | 'role'> | Error | null => {
    if (sessions === undefined || request.headers.authorization !== undefined) return null
    const session = sessions.fromCookieHeader(request.headers.cookie)
    if (session === null) return null
    const refusal = crossSiteRefusal(request.method, request.headers, session.csrf)
    return refusal === null ? session : new errors.DRAWBRIDGE_ERR_CROSS_SITE(refusal)
  }

  return function authenticate (request, _reply, done) {
    if (request.routeOptions.config.public === true) {
      request.actor = 'anonymous'
      request.role = 'read'
      done()
      return
    }
    let actor = 'anonymous'
    let role: Role = 'admin'
    if (!open) {
      const found = presentedToken(request) ?? fromSession(request)
      if (found instanceof Error) {
        done(found)
        return
      }
      if (found === null) {
        done(new errors.DRAWBRIDGE_ERR_UNAUTHORIZED())
        return
      }
      actor = found.actor
      role = found.role
    }
    request.actor = actor
    request.role = role
    if (requiredRole(request) === 'admin' && role !== 'admin') {
      done(new errors.DRAWBRIDGE_ERR_FORBIDDEN(`${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`))
      return
    }
    done()
  }
}
