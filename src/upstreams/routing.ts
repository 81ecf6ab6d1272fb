import { normalizedValue } from '../flags/murmur3.js'
import { defaultRouting, type RoutingState } from '../state/types.js'

/**
 * The routing decision as pure functions: the stored routing state and the
 * configured upstream names compile into indexes once per change, and a
 * request's upstream is then an index read (or, with a canary, one hash of
 * its identity). No I/O, no clock.
 */

export interface CompiledRouting {
  /** The routing as stored, with `active` resolved to a configured name. */
  readonly state: RoutingState & { active: string }
  /** Index of the active upstream in the configured list. */
  readonly active: number
  readonly canary: { readonly index: number, readonly percentage: number, readonly group: string } | null
  readonly paused: boolean
  readonly pauseMaxMs: number
  /** Why the stored routing could not be followed as written (an upstream this process does not have), else null. */
  readonly problem: string | null
}

/** The canary bucket of an identity: the rollout hash (CONTRACT section 3) over `canary:<upstream>:<key>`, 1..100. */
export function canaryBucket (upstream: string, key: string): number {
  return normalizedValue(key, `canary:${upstream}`)
}

/**
 * `names` is the configured list, in order. A stored name this process does
 * not know (replicas configured differently) is not followed: the active
 * upstream falls back to the first, a canary is dropped, and `problem` says so.
 */
export function compileRouting (stored: RoutingState | undefined, names: readonly string[]): CompiledRouting {
  const routing = stored ?? defaultRouting()
  const problems: string[] = []
  let active = routing.active === null ? 0 : names.indexOf(routing.active)
  if (active < 0) {
    problems.push(`active upstream "${routing.active ?? ''}" is not configured here; serving "${names[0] ?? ''}"`)
    active = 0
  }
  let canary: CompiledRouting['canary'] = null
  if (routing.canary !== null && routing.canary.percentage > 0) {
    const index = names.indexOf(routing.canary.upstream)
    if (index < 0) problems.push(`canary upstream "${routing.canary.upstream}" is not configured here; no canary`)
    else if (index !== active) canary = { index, percentage: routing.canary.percentage, group: `canary:${routing.canary.upstream}` }
  }
  return {
    state: { ...routing, active: names[active] ?? '' },
    active,
    canary,
    paused: routing.paused,
    pauseMaxMs: routing.pauseMaxMs,
    problem: problems.length === 0 ? null : problems.join('; ')
  }
}

/** The index of the upstream for an identity (`key`: the flags identity, else the client address). */
export function pickUpstream (routing: CompiledRouting, key: string): number {
  const canary = routing.canary
  if (canary === null) return routing.active
  return normalizedValue(key, canary.group) <= canary.percentage ? canary.index : routing.active
}
