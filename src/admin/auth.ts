import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Config } from '../config/schema.js'
import { errors } from '../errors.js'
import type { Role } from '../admin-plugin.js'

interface KnownToken {
  actor: string
  role: Role
  digest: Buffer
}

function digest (token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/** Every token the config grants, under the name the audit log records. */
function knownTokens (config: Pick<Config, 'adminToken' | 'readToken' | 'tokens'>): KnownToken[] {
  const known: KnownToken[] = []
  if (config.adminToken !== undefined) known.push({ actor: 'admin', role: 'admin', digest: digest(config.adminToken) })
  if (config.readToken !== undefined) known.push({ actor: 'read', role: 'read', digest: digest(config.readToken) })
  for (const t of config.tokens) known.push({ actor: t.name, role: t.role, digest: digest(t.token) })
  return known
}

/**
 * The token a bearer `Authorization` header presents, or null. Every known
 * token is compared (see createAuthHook) so timing says nothing about which.
 */
export function bearerMatcher (config: Pick<Config, 'adminToken' | 'readToken' | 'tokens'>): (header: string | undefined) => KnownToken | null {
  const match = tokenMatcher(config)
  return (header) => {
    const bearer = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header ?? '')
    return bearer === null ? null : match(bearer[1] as string)
  }
}

/** The known token `presented` is, or null; every known token is compared. */
function tokenMatcher (config: Pick<Config, 'adminToken' | 'readToken' | 'tokens'>): (presented: string | undefined) => KnownToken | null {
  const known = knownTokens(config)
  return (presented) => {
    if (presented === undefined || presented === '') return null
    const candidate = digest(presented.trim())
    let found: KnownToken | null = null
    for (const token of known) {
      if (timingSafeEqual(token.digest, candidate) && found === null) found = token
    }
    return found
  }
}

/** True when no token is configured at all (the API is open, on loopback only). */
export function isOpen (config: Pick<Config, 'adminToken' | 'readToken' | 'tokens'>): boolean {
  return knownTokens(config).length === 0
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
 */
export function createAuthHook (config: Pick<Config, 'adminToken' | 'readToken' | 'tokens'>): onRequestHookHandler {
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
      const found = presentedToken(request)
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
