export const REDACTED = '[redacted]'

const SECRET_KEYS = new Set(['secret', 'token', 'adminToken', 'readToken', 'signingKey', 'bypassUrl', 'password'])

/**
 * Copy of `value` with every secret-bearing field replaced, at any depth. Used
 * on audit entries: the log records *that* a secret changed, never its value.
 * Null stays null so "secret cleared" is still visible.
 */
export function redactSecrets (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, child] of Object.entries(value)) {
    out[key] = SECRET_KEYS.has(key) && child !== null && child !== undefined ? REDACTED : redactSecrets(child)
  }
  return out
}
