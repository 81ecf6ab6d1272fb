import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { Signer } from '@fastify/cookie'
import type { Config } from '../config/schema.js'
import { knownTokens, type KnownToken, type TokenRole } from '../config/tokens.js'
import { readCookieValues } from '../http/cookies.js'

/** The console's session cookie. */
export const SESSION_COOKIE = 'drawbridge_console'
/** An absolute lifetime: a session is not extended by use; after it the operator signs in again. */
export const SESSION_TTL_SECONDS = 8 * 3600
/** Header that carries the session's CSRF token on every state-changing request. */
export const CSRF_HEADER = 'x-drawbridge-csrf'
/** Signed-out sessions remembered by this process until they expire (bounded: the oldest go first). */
const MAX_REVOKED = 10_000

export interface ConsoleSession {
  /** Random id of this sign-in. */
  id: string
  actor: string
  role: TokenRole
  /** Epoch ms. */
  expiresAt: number
  /** Sent back in CSRF_HEADER by the console on every change. */
  csrf: string
}

const b64url = (b: Buffer): string => b.toString('base64url')

/**
 * Console sessions without server-side storage, so that every replica (and
 * every worker) accepts a session any of them issued: the cookie holds
 * `fingerprint.expires.id`, signed with @fastify/cookie's Signer (HMAC-SHA256).
 *
 * The fingerprint names the token the operator signed in with (an HMAC of its
 * digest, never the token), and the session takes that token's role and name
 * from the configuration at each request: a token removed from the config
 * ends its sessions. The signing key is derived from every configured token
 * (and the signing key, when configured), so replicas configured alike agree
 * on it, and changing any token ends every session. A holder of one token
 * cannot derive it without knowing all the others.
 */
export class ConsoleSessions {
  readonly signer: Signer
  private readonly key: Buffer
  private readonly tokens: Array<{ token: KnownToken, fingerprint: Buffer }>
  /** Signed-out session ids → their expiry (epoch ms). */
  private readonly revoked = new Map<string, number>()

  constructor (config: Pick<Config, 'adminToken' | 'readToken' | 'tokens' | 'signingKey'>, private readonly now: () => number = Date.now) {
    const known = knownTokens(config)
    const derive = createHmac('sha256', 'drawbridge console session v1')
    for (const digest of known.map((t) => t.digest.toString('hex')).sort()) derive.update(digest)
    // With no token at all the API is open and no session is ever issued; the key is then never used.
    derive.update(known.length === 0 ? randomBytes(32) : Buffer.alloc(0))
    if (config.signingKey !== undefined) derive.update('\0' + config.signingKey)
    this.key = derive.digest()
    this.signer = new Signer(this.key, 'sha256')
    this.tokens = known.map((token) => ({ token, fingerprint: this.fingerprint(token) }))
  }

  /** A new session for `token`: the signed cookie value and what the console is told. */
  issue (token: KnownToken): { cookie: string, session: ConsoleSession } {
    const id = b64url(randomBytes(16))
    const expires = Math.floor(this.now() / 1000) + SESSION_TTL_SECONDS
    const payload = `${b64url(this.fingerprint(token))}.${expires}.${id}`
    return { cookie: this.signer.sign(payload), session: this.sessionOf(payload, token, id, expires) }
  }

  /** The valid session a Cookie header carries, or null (none, forged, expired, signed out, token gone). */
  fromCookieHeader (header: string | undefined): ConsoleSession | null {
    const values = readCookieValues(header, SESSION_COOKIE)
    if (values === undefined) return null
    for (const raw of Array.isArray(values) ? values : [values]) {
      const session = this.verify(raw)
      if (session !== null) return session
    }
    return null
  }

  /** Ends a session in this process before its expiry (the browser's cookie is cleared too). */
  revoke (session: ConsoleSession): void {
    const now = this.now()
    for (const [id, expiresAt] of this.revoked) if (expiresAt <= now) this.revoked.delete(id)
    if (this.revoked.size >= MAX_REVOKED) {
      const oldest = this.revoked.keys().next()
      if (oldest.done !== true) this.revoked.delete(oldest.value)
    }
    this.revoked.set(session.id, session.expiresAt)
  }

  private verify (raw: string): ConsoleSession | null {
    let value: string
    try {
      value = decodeURIComponent(raw)
    } catch {
      return null
    }
    // Bounded before any HMAC is computed over it.
    if (value.length > 256) return null
    const unsigned = this.signer.unsign(value)
    if (!unsigned.valid || unsigned.value === null) return null
    const [fingerprint = '', expiresText = '', id = '', ...rest] = unsigned.value.split('.')
    if (rest.length > 0 || !/^\d{1,12}$/.test(expiresText) || id === '') return null
    const expires = Number(expiresText)
    if (expires * 1000 <= this.now() || this.revoked.has(id)) return null
    const presented = Buffer.from(fingerprint, 'base64url')
    let found: KnownToken | null = null
    for (const { token, fingerprint: known } of this.tokens) {
      if (known.length === presented.length && timingSafeEqual(known, presented) && found === null) found = token
    }
    return found === null ? null : this.sessionOf(unsigned.value, found, id, expires)
  }

  private sessionOf (payload: string, token: KnownToken, id: string, expires: number): ConsoleSession {
    const csrf = b64url(createHmac('sha256', this.key).update('csrf\0' + payload).digest())
    return { id, actor: token.actor, role: token.role, expiresAt: expires * 1000, csrf }
  }

  private fingerprint (token: KnownToken): Buffer {
    return createHmac('sha256', this.key).update('token\0').update(token.digest).digest().subarray(0, 18)
  }
}

const byConfig = new WeakMap<object, ConsoleSessions>()

/** One ConsoleSessions per configuration: the auth hook and the console routes share its sign-outs. */
export function consoleSessions (config: ConstructorParameters<typeof ConsoleSessions>[0]): ConsoleSessions {
  let sessions = byConfig.get(config)
  if (sessions === undefined) {
    sessions = new ConsoleSessions(config)
    byConfig.set(config, sessions)
  }
  return sessions
}
