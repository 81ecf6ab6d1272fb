import { createHash, timingSafeEqual } from 'node:crypto'
import type { Config } from './schema.js'

/** What a token may do: everything, or read (and evaluate flags). */
export type TokenRole = 'admin' | 'read'

/** The settings that grant tokens. */
export type TokenSettings = Pick<Config, 'adminToken' | 'readToken' | 'tokens'>

export interface KnownToken {
  /** The name the audit log records. */
  actor: string
  role: TokenRole
  /** SHA-256 of the token: what is compared, and what a console session is bound to. */
  digest: Buffer
}

export function tokenDigest (token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}

/** Every token the config grants, under the name the audit log records. */
export function knownTokens (config: TokenSettings): KnownToken[] {
  const known: KnownToken[] = []
  if (config.adminToken !== undefined) known.push({ actor: 'admin', role: 'admin', digest: tokenDigest(config.adminToken) })
  if (config.readToken !== undefined) known.push({ actor: 'read', role: 'read', digest: tokenDigest(config.readToken) })
  for (const t of config.tokens) known.push({ actor: t.name, role: t.role, digest: tokenDigest(t.token) })
  return known
}

/**
 * The known token `presented` is, or null. Tokens are compared as SHA-256
 * digests with timingSafeEqual: equal-length inputs, so neither the token's
 * content nor its length leaks through timing, and every known token is
 * compared so the position of a match does not either.
 */
export function tokenMatcher (config: TokenSettings): (presented: string | undefined) => KnownToken | null {
  const known = knownTokens(config)
  return (presented) => {
    if (presented === undefined || presented === '') return null
    const candidate = tokenDigest(presented.trim())
    let found: KnownToken | null = null
    for (const token of known) {
      if (timingSafeEqual(token.digest, candidate) && found === null) found = token
    }
    return found
  }
}

/** True when no token is configured at all (the API is open, on loopback only). */
export function isOpen (config: TokenSettings): boolean {
  return knownTokens(config).length === 0
}
