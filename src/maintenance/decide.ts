import type { CompiledMaintenance } from './compile.js'
import { normalizePath } from './paths.js'
import type { Decision, DecisionRule, RequestFacts } from './types.js'

/*
 * The maintenance decision, CONTRACT section 2 steps 2-4, as a pure function
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

/**
 * Order: off, outside the window → pass; `GET /<secret>` → set-bypass; outside
 * `paths`, in `exceptPaths` → pass; allowlist, bypass cookie, bypass header,
 * read-only safe method → pass; `redirect` → 307; else block.
 *
 * The bypass URL is checked before the path scope on purpose: with `paths`
 * set, `/<secret>` is almost never inside the scope, and the operator still
 * needs a way to get the cookie for the paths that are blocked.
 */
export function decide (facts: RequestFacts, compiled: CompiledMaintenance, now: number): Decision {
  if (!compiled.enabled) return PASS.off
  if (now < compiled.startsAtMs || now >= compiled.endsAtMs) return PASS.window
  const path = facts.normalizedPath ?? normalizePath(facts.path)
  const method = facts.method
  const secretPath = compiled.secretPath
  // Length first (the secret's length is not the secret), then a constant-time compare.
  if (secretPath !== null && path.length === secretPath.length && method === 'GET' &&
      compiled.matchSecret !== null && compiled.matchSecret(path.slice(1))) {
    return SET_BYPASS
  }
  if (compiled.inScope !== null && !compiled.inScope(path)) return PASS.paths
  if (compiled.excepted(path)) return PASS.except
  if (!compiled.allow.isEmpty && compiled.allow.has(facts.ip)) return PASS.allowlist
  if (facts.bypassCookie !== undefined && compiled.signer !== null && compiled.signer.verify(facts.bypassCookie, now)) return PASS.cookie
  if (facts.bypassHeader !== undefined && compiled.matchSecret !== null && compiled.matchSecret(facts.bypassHeader)) return PASS.header
  if (compiled.readOnly && (method === 'GET' || method === 'HEAD' || method === 'OPTIONS')) return PASS.readOnly
  if (compiled.redirectDecision !== null) return compiled.redirectDecision
  return compiled.blockDecision(now)
}
