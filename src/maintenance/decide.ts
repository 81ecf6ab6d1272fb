import type { CompiledMaintenance } from './compile.js'
import { normalizeTarget } from '../http/paths.js'
import type { Decision, DecisionRule, RequestFacts } from './types.js'

/*
 * The maintenance decision (address, secret, scope, window) as a pure function
 * of request facts, compiled state and the clock: no I/O, no Fastify. Pass
 * decisions are shared frozen objects, so the common answers allocate nothing.
 */

function pass (rule: DecisionRule): Decision {
  return Object.freeze({ action: 'pass', rule }) as Decision
}

export const PASS: Readonly<Record<'off' | 'window' | 'paths' | 'except' | 'allowlist' | 'cookie' | 'header' | 'readOnly' | 'reserved', Decision>> = {
  off: pass('maintenance-off'),
  window: pass('outside-window'),
  paths: pass('outside-paths'),
  except: pass('except-path'),
  allowlist: pass('allowlist'),
  cookie: pass('bypass-cookie'),
  header: pass('bypass-header'),
  readOnly: pass('read-only'),
  reserved: pass('reserved')
}

export const SET_BYPASS: Decision = Object.freeze({ action: 'set-bypass', rule: 'bypass-url' })
export const BAD_TARGET: Decision = Object.freeze({ action: 'reject', rule: 'bad-target', status: 400 })
export const SECRET_PATH: Decision = Object.freeze({ action: 'reject', rule: 'secret-path', status: 404 })

function anyValid (cookie: string | readonly string[], signer: NonNullable<CompiledMaintenance['signer']>, now: number): boolean {
  if (typeof cookie === 'string') return signer.verify(cookie, now)
  for (const value of cookie) if (signer.verify(value, now)) return true
  return false
}

/**
 * Order: a target that does not parse → 400; while a secret is set,
 * `GET /<secret>` → set-bypass and any other path starting with it → 404
 * (whether or not maintenance is on: the secret must never reach the
 * upstream's logs); off, outside the window → pass; outside
 * `paths`, in `exceptPaths` → pass; allowlist, bypass cookie, bypass header,
 * read-only safe method → pass; `redirect` → 307; else block.
 *
 * The bypass URL is checked before the path scope on purpose: with `paths`
 * set, `/<secret>` is almost never inside the scope, and the operator still
 * needs a way to get the cookie for the paths that are blocked.
 */
function isSafe (method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS'
}

export function decide (facts: RequestFacts, compiled: CompiledMaintenance, now: number): Decision {
  const path = facts.normalizedPath ?? normalizeTarget(facts.path)
  if (path === null) return BAD_TARGET
  const method = facts.method
  const secretPath = compiled.secretPath
  // Length first (the secret's length is not the secret), then a constant-time compare.
  if (secretPath !== null && compiled.underSecret !== null && compiled.underSecret(path)) {
    return method === 'GET' && path.length === secretPath.length ? SET_BYPASS : SECRET_PATH
  }
  if (!compiled.enabled) return PASS.off
  if (now < compiled.startsAtMs || now >= compiled.endsAtMs) return PASS.window
  if (compiled.inScope !== null && !compiled.inScope(path)) return PASS.paths
  if (compiled.excepted(path)) return PASS.except
  if (!compiled.allow.isEmpty && compiled.allow.has(facts.ip)) return PASS.allowlist
  if (facts.bypassCookie !== undefined && compiled.signer !== null && anyValid(facts.bypassCookie, compiled.signer, now)) return PASS.cookie
  if (facts.bypassHeader !== undefined && compiled.matchSecret !== null && compiled.matchSecret(facts.bypassHeader)) return PASS.header
  if (compiled.readOnly && isSafe(method) && (facts.methodOverride === undefined || isSafe(facts.methodOverride.trim().toUpperCase()))) return PASS.readOnly
  if (compiled.redirectDecision !== null) return compiled.redirectDecision
  return compiled.blockDecision(now)
}
