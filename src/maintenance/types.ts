/** What the pure decision needs to know about a request: no sockets, no Fastify. */
export interface RequestFacts {
  method: string
  /** Raw path from the request line, query string excluded. */
  path: string
  /** normalizePath(path), when the caller already has it (the gateway does). */
  normalizedPath?: string
  /** Resolved client address (see proxy/client-address.ts). */
  ip: string
  /** Value of the drawbridge_bypass cookie, if any. */
  bypassCookie: string | undefined
  /** Value of X-Drawbridge-Bypass, if any. */
  bypassHeader: string | undefined
}

export type DecisionRule =
  | 'reserved'
  | 'maintenance-off'
  | 'outside-window'
  | 'outside-paths'
  | 'except-path'
  | 'allowlist'
  | 'bypass-cookie'
  | 'bypass-header'
  | 'read-only'
  | 'bypass-url'
  | 'redirect'
  | 'maintenance'

export type Decision =
  | { action: 'pass', rule: DecisionRule }
  /** GET /<secret>: set the bypass cookie and redirect to `/`. */
  | { action: 'set-bypass', rule: 'bypass-url' }
  | { action: 'redirect', rule: 'redirect', location: string }
  | { action: 'block', rule: 'maintenance', retryAfter: number | null }
