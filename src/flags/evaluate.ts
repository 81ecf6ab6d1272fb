import { pickVariant, rolloutHolds, type CompiledPick } from './buckets.js'
import type { CompiledFlag, CompiledFlags, CompiledRule, Evaluation, Reason } from './compile.js'
import type { FlagOverride } from '../state/types.js'
import type { CompiledCondition } from './conditions.js'

/**
 * Pure evaluation of one compiled flag for one targeting key and context, in
 * the contract's order: disabled → per-user override → first matching rule →
 * rollout (SPLIT) → static (STATIC). No I/O, no allocation on the common
 * paths: results are shared objects built once per flag and outcome. The
 * clock is read only for scheduled ramps and date conditions (ctx.now when
 * given), and chance only for `random` stickiness (buckets.ts).
 */

export interface EvaluationContext {
  /** The user id; undefined when the caller has none. */
  targetingKey: string | undefined
  /** Attributes rules look at (`plan`, `version`, `ip`, ...). */
  attributes: Readonly<Record<string, unknown>>
  /** The instant to evaluate at (scheduled ramps, date conditions); default: now. */
  now?: number
}

const REASON_INDEX: Readonly<Record<Reason, number>> = { STATIC: 0, TARGETING_MATCH: 1, SPLIT: 2, DISABLED: 3, PREREQUISITE_FAILED: 4, ERROR: 5 }

export const FLAG_NOT_FOUND: Evaluation = Object.freeze({ value: false, variant: null, reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', slot: -1 })
export const TARGETING_KEY_MISSING: Evaluation = Object.freeze({ value: false, variant: null, reason: 'ERROR', errorCode: 'TARGETING_KEY_MISSING', slot: -1 })

function result (cf: CompiledFlag, reason: Reason, slot: number): Evaluation {
  const index = REASON_INDEX[reason] * cf.seen.length + slot
  let r = cf.results[index]
  if (r === undefined) {
    const variant = slot >= 2 ? (cf.variants[slot - 2]?.name ?? null) : null
    r = Object.freeze({ value: slot !== 0, variant, reason, slot })
    cf.results[index] = r
  }
  return r
}

/** "On", with a variant chosen by `pick` when it has any weight. */
function serve (cf: CompiledFlag, pick: CompiledPick, key: string | undefined, attributes: EvaluationContext['attributes'], reason: Reason): Evaluation {
  if (pick.total <= 0) return result(cf, reason, 1)
  const i = pickVariant(pick, key, attributes)
  if (i === -1) return result(cf, reason, 1)
  if (i === -2) return TARGETING_KEY_MISSING
  return result(cf, reason, 2 + i)
}

function valueOf (attribute: string, key: string | undefined, attributes: EvaluationContext['attributes']): unknown {
  // Own properties only: a rule on `constructor` must not read Object.prototype's.
  return attribute === 'targetingKey' ? key : Object.hasOwn(attributes, attribute) ? attributes[attribute] : undefined
}

/** The rest of a rule whose first condition held: its other conditions, then its rollout. */
function restHolds (rule: CompiledRule, key: string | undefined, ctx: EvaluationContext): boolean {
  const attributes = ctx.attributes
  const more = rule.more
  if (more !== null) {
    for (let i = 0; i < more.length; i++) {
      const c = more[i] as CompiledCondition
      if (!c.test(valueOf(c.attribute, key, attributes), ctx.now)) return false
    }
  }
  return rule.rollout === null || rolloutHolds(rule.rollout, rule.rollout.percentage, key, attributes) === 1
}

/** A per-user override: off, a variant, or on (with a variant chosen as usual). */
function overridden (cf: CompiledFlag, o: FlagOverride, key: string, ctx: EvaluationContext): Evaluation {
  if (o.variant !== undefined) {
    const i = cf.variantIndex.get(o.variant)
    if (i !== undefined) return result(cf, 'TARGETING_MATCH', 2 + i)
  } else if (o.enabled === false) {
    return result(cf, 'TARGETING_MATCH', 0)
  }
  return serve(cf, cf.pick, key, ctx.attributes, 'TARGETING_MATCH')
}

/** Every prerequisite evaluates, for this user, the way it asks (a prerequisite that cannot answer does not hold). */
function prerequisitesHold (cf: CompiledFlag, ctx: EvaluationContext): boolean {
  for (const p of cf.prerequisites) {
    if (p.target === null) return false
    const ev = evaluateFlag(p.target, ctx)
    if (ev.errorCode !== undefined) return false
    if (p.variant >= 0 ? ev.slot !== 2 + p.variant : ev.value !== p.enabled) return false
  }
  return true
}

/** The step of a ramp in force at `now`, or undefined before the first. */
function stepAt (steps: CompiledFlag['steps'], now: number): CompiledFlag['steps'][number] | undefined {
  let found: CompiledFlag['steps'][number] | undefined
  for (let i = 0; i < steps.length && (steps[i] as CompiledFlag['steps'][number]).atMs <= now; i++) found = steps[i]
  return found
}

export function evaluateFlag (cf: CompiledFlag, ctx: EvaluationContext): Evaluation {
  let enabled = cf.enabled
  let pct = cf.percentage
  if (cf.steps.length > 0) {
    const step = stepAt(cf.steps, ctx.now ?? Date.now())
    if (step !== undefined) { enabled = step.enabled; pct = step.percentage }
  }
  if (!enabled) return result(cf, 'DISABLED', 0)
  if (cf.prerequisites.length > 0 && !prerequisitesHold(cf, ctx)) return result(cf, 'PREREQUISITE_FAILED', 0)
  const key = ctx.targetingKey

  if (key !== undefined && cf.overrides !== null) {
    const o = cf.overrides.get(key)
    if (o !== undefined) return overridden(cf, o, key, ctx)
  }

  const rules = cf.rules
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule
    if (!rule.test(valueOf(rule.attribute, key, ctx.attributes), ctx.now)) continue
    if (!rule.plain && !restHolds(rule, key, ctx)) continue
    if (!rule.enabled) return result(cf, 'TARGETING_MATCH', 0)
    if (rule.variant >= 0) return result(cf, 'TARGETING_MATCH', 2 + rule.variant)
    return serve(cf, rule.pick ?? cf.pick, key, ctx.attributes, 'TARGETING_MATCH')
  }

  if (pct >= 0) {
    // Without stickiness, 0% and 100% need no bucket, so they answer even without a targeting key.
    const holds = rolloutHolds(cf.rollout, pct, key, ctx.attributes)
    if (holds < 0) return TARGETING_KEY_MISSING
    return holds === 1 ? serve(cf, cf.pick, key, ctx.attributes, 'SPLIT') : result(cf, 'SPLIT', 0)
  }

  return serve(cf, cf.pick, key, ctx.attributes, 'STATIC')
}

export function evaluateKey (table: CompiledFlags, key: string, ctx: EvaluationContext): Evaluation {
  const cf = table.byKey.get(key)
  return cf === undefined ? FLAG_NOT_FOUND : evaluateFlag(cf, ctx)
}

/** The OFREP value: a boolean for flags without variants, else the variant's `value` (or its name). */
export function ofrepValue (cf: CompiledFlag, ev: Evaluation): unknown {
  if (!ev.value) return false
  if (ev.slot < 2) return true
  const v = cf.variants[ev.slot - 2]
  if (v === undefined) return true
  return v.value === undefined ? v.name : v.value
}

/** The OFREP variant: `on`/`off` for flags without variants, else the variant's name. */
export function ofrepVariant (ev: Evaluation): string {
  if (ev.variant !== null) return ev.variant
  return ev.value ? 'on' : 'off'
}
