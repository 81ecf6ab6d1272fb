import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The bypass cookie: `v1.<expiry seconds>.<signature>`, where the signature is
 * HMAC-SHA256(signingKey, "<expiry>.<generation of the current secret>").
 * The generation is a random id stored with the secret each time it is set
 * (state `secretId`), not derived from its value: changing or clearing the
 * secret voids every cookie issued before, and setting an earlier value again
 * does not revive them. States written before generations existed bind to a
 * fingerprint of the value, as cookies issued then did. The secret itself
 * never appears in the cookie.
 */

export const BYPASS_COOKIE = 'drawbridge_bypass'
const VERSION = 'v1.'
/** base64url of a SHA-256 MAC. */
const SIGNATURE_LENGTH = 43
/** Verified cookies cached per signer: a valid cookie is sent on every request for hours. */
const CACHE_LIMIT = 1024

function fingerprint (secret: string): string {
  return createHash('sha256').update('drawbridge-bypass-secret\0').update(secret).digest('base64url')
}

export interface BypassSigner {
  /** A cookie value valid until nowMs + ttlSeconds. */
  issue (nowMs: number, ttlSeconds: number): string
  /** Constant-time check of signature, then expiry. */
  verify (value: string, nowMs: number): boolean
}

export function createBypassSigner (signingKey: string, secret: string, secretId: string | null = null): BypassSigner {
  const key = Buffer.from(signingKey, 'utf8')
  const print = secretId === null ? fingerprint(secret) : 'generation:' + secretId
  // value → expiry (ms) of cookies whose signature already checked out.
  const verified = new Map<string, number>()

  function sign (expiry: string): Buffer {
    return createHmac('sha256', key).update(expiry).update('.').update(print).digest()
  }

  return {
    issue (nowMs, ttlSeconds) {
      const expiry = String(Math.floor(nowMs / 1000) + ttlSeconds)
      return `${VERSION}${expiry}.${sign(expiry).toString('base64url')}`
    },
    verify (value, nowMs) {
      const known = verified.get(value)
      if (known !== undefined) return known > nowMs
      if (!value.startsWith(VERSION)) return false
      const dot = value.indexOf('.', VERSION.length)
      if (dot < 0 || value.length - dot - 1 !== SIGNATURE_LENGTH) return false
      const expiry = value.slice(VERSION.length, dot)
      if (!/^[1-9][0-9]{0,11}$/.test(expiry)) return false
      const given = Buffer.from(value.slice(dot + 1), 'base64url')
      const expected = sign(expiry)
      // base64url decoding is lenient; a non-canonical spelling decodes short or re-encodes differently.
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false
      if (given.toString('base64url') !== value.slice(dot + 1)) return false
      const expiresAt = Number(expiry) * 1000
      if (verified.size >= CACHE_LIMIT) verified.clear()
      verified.set(value, expiresAt)
      return expiresAt > nowMs
    }
  }
}

/** The Set-Cookie header for a freshly issued bypass cookie. */
export function bypassSetCookie (value: string, ttlSeconds: number, secure: boolean): string {
  return `${BYPASS_COOKIE}=${value}; Max-Age=${ttlSeconds}; Path=/; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`
}

/**
 * Removes every `name=` cookie from a Cookie header value: the bypass cookie
 * is drawbridge's, not the application's. Null when nothing is left.
 */
export function withoutCookie (header: string, name: string): string | null {
  if (header.indexOf(name) < 0) return header
  const kept: string[] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    const cookieName = (eq < 0 ? part : part.slice(0, eq)).trim()
    if (cookieName === name || cookieName === '') continue
    kept.push(part.trim())
  }
  return kept.length === 0 ? null : kept.join('; ')
}

/**
 * Whether a path is `/` + secret or starts with it (the bypass URL and
 * everything below or beside it). Constant time in the secret's content: the length
 * check only says the path is at least as long as the secret, and the
 * comparison runs over every character. No hashing, so it can run on every
 * request while a secret is set.
 */
export function createSecretPrefixMatcher (secret: string): (path: string) => boolean {
  const length = secret.length
  return (path) => {
    if (path.length < length + 1 || path.charCodeAt(0) !== 47) return false
    let diff = 0
    for (let i = 0; i < length; i++) diff |= path.charCodeAt(i + 1) ^ secret.charCodeAt(i)
    return diff === 0
  }
}

/**
 * Constant-time comparison of a presented secret (header or URL) with the
 * configured one. Both sides are hashed first so neither the content nor the
 * length of the secret leaks through timing.
 */
export function createSecretMatcher (secret: string): (candidate: string) => boolean {
  const expected = createHash('sha256').update(secret).digest()
  return (candidate) => timingSafeEqual(createHash('sha256').update(candidate).digest(), expected)
}
