import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * The bypass cookie: `v1.<expiry seconds>.<signature>`, where the signature is
 * HMAC-SHA256(signingKey, "<expiry>.<fingerprint of the current secret>").
 * Binding the signature to the secret's fingerprint means changing or clearing
 * the secret voids every cookie issued before, with nothing to revoke. The
 * secret itself never appears in the cookie.
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

export function createBypassSigner (signingKey: string, secret: string): BypassSigner {
  const key = Buffer.from(signingKey, 'utf8')
  const print = fingerprint(secret)
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
 * Value of one cookie in a Cookie header (first occurrence), without parsing
 * the others: most requests carry no bypass cookie and pay one indexOf.
 */
export function readCookie (header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  let at = header.indexOf(name)
  while (at >= 0) {
    const before = at === 0 ? 59 : header.charCodeAt(at - 1)
    const end = at + name.length
    if ((before === 59 || before === 32 || before === 9) && header.charCodeAt(end) === 61) {
      let stop = header.indexOf(';', end + 1)
      if (stop < 0) stop = header.length
      let value = header.slice(end + 1, stop).trim()
      if (value.length > 1 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) value = value.slice(1, -1)
      return value
    }
    at = header.indexOf(name, end)
  }
  return undefined
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
