import type { Config } from '../config/schema.js'
import type { MaintenanceState, SharedState } from '../state/types.js'
import { readCookieValues } from '../http/cookies.js'
import { BYPASS_COOKIE } from './bypass-cookie.js'
import { compileFallback, compileMaintenance, EMPTY_TEMPLATE, type CompiledMaintenance } from './compile.js'
import { BAD_TARGET, decide, PASS } from './decide.js'
import { isReservedPath, normalizeTarget } from '../http/paths.js'
import type { Decision, DecisionRule } from './types.js'

export interface ExplainInput {
  method: string
  /** Path as a client would send it; a query string is ignored. */
  path: string
  /** The resolved client address. */
  ip: string
  headers: Record<string, string>
}

export interface Explanation {
  action: 'pass' | 'set-bypass' | 'redirect' | 'block' | 'reject'
  rule: DecisionRule
  /** What the gateway answers: 200 stands for "proxied, the upstream decides". */
  status: number
  retryAfter: number | null
  location: string | null
}

// Explain runs on the admin port, not per request; still, compiling a large
// allowlist on every call is waste, so remember the last compilation.
let cache: { maintenance: MaintenanceState, key: string, ttl: number, compiled: CompiledMaintenance } | null = null

function compiledFor (state: SharedState | null, config: Config): CompiledMaintenance {
  if (state === null) return compileFallback(config.failPolicy, EMPTY_TEMPLATE, config.bypassCookieTtlSeconds)
  const key = config.signingKey ?? state.signingKey
  const ttl = config.bypassCookieTtlSeconds
  if (cache !== null && cache.maintenance === state.maintenance && cache.key === key && cache.ttl === ttl) return cache.compiled
  const compiled = compileMaintenance(state.maintenance, { signingKey: key, template: EMPTY_TEMPLATE, cookieTtlSeconds: ttl })
  cache = { maintenance: state.maintenance, key, ttl, compiled }
  return compiled
}

function toExplanation (decision: Decision, blockStatus = 503): Explanation {
  switch (decision.action) {
    case 'pass': return { action: 'pass', rule: decision.rule, status: 200, retryAfter: null, location: null }
    case 'set-bypass': return { action: 'set-bypass', rule: decision.rule, status: 302, retryAfter: null, location: '/' }
    case 'redirect': return { action: 'redirect', rule: decision.rule, status: 307, retryAfter: null, location: decision.location }
    case 'block': return { action: 'block', rule: decision.rule, status: blockStatus, retryAfter: decision.retryAfter, location: null }
    case 'reject': return { action: 'reject', rule: decision.rule, status: decision.status, retryAfter: null, location: null }
  }
}

/** The decision the gateway would take now for this request, and the rule that decided it. */
export function explain (input: ExplainInput, state: SharedState | null, config: Config, now: number): Explanation {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(input.headers)) headers[name.toLowerCase()] = value
  const path = normalizeTarget(input.path === '' ? '/' : input.path)
  if (path === null) return toExplanation(BAD_TARGET)
  if (isReservedPath(path)) return toExplanation(PASS.reserved)
  const compiled = compiledFor(state, config)
  const decision = decide({
    method: input.method.toUpperCase(),
    path,
    normalizedPath: path,
    ip: input.ip,
    bypassCookie: readCookieValues(headers.cookie, BYPASS_COOKIE),
    bypassHeader: headers['x-drawbridge-bypass']
  }, compiled, now)
  return toExplanation(decision, compiled.status)
}

/** Whether the maintenance exceptPaths cover `path` (such paths are never held by a pause either). */
export function isExcepted (path: string, state: SharedState | null, config: Config): boolean {
  const normalized = normalizeTarget(path === '' ? '/' : path)
  return normalized !== null && compiledFor(state, config).excepted(normalized)
}
