/** What the pure decision needs to know about a request: no sockets, no Fastify. */
export interface RequestFacts {
  method: string
  /** Path from the request line, query string excluded (see paths.ts parseTarget). */
  path: string
  /** The normalised path, when the caller already parsed the target (the gateway does). */
  normalizedPath?: string
  /** Resolved client address (see proxy/client-address.ts). */
  ip: string
  /** Value(s) of the drawbridge_bypass cookie, if any: each one is tried. */
  bypassCookie: string | readonly string[] | undefined
  /** Value of X-Drawbridge-Bypass, if any. */
  bypassHeader: string | undefined
  /**
   * A method named by X-HTTP-Method-Override, X-HTTP-Method or
   * X-Method-Override, if any: upstreams that honour those act on it instead of
   * the request line's method, so read-only mode judges it too.
   */
  methodOverride?: string | undefined
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
  | 'bad-target'
  | 'secret-path'

export type Decision =
  | { action: 'pass', rule: DecisionRule }
  /** GET /<secret>: set the bypass cookie and redirect to `/`. */
  | { action: 'set-bypass', rule: 'bypass-url' }
  | { action: 'redirect', rule: 'redirect', location: string }
  | { action: 'block', rule: 'maintenance', retryAfter: number | null }
  /** Answered by the gateway with `status`, never proxied: a refused target (400), a path under the secret (404). */
  | { action: 'reject', rule: 'bad-target' | 'secret-path', status: 400 | 404 }
