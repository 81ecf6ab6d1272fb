import type { CompiledFlag, CompiledFlags, Evaluation, Reason } from './compile.js'
import { murmur3Pair, ROLLOUT_SEED, VARIANT_SEED } from './murmur3.js'

/**
 * Pure evaluation of one compiled flag for one targeting key and context, in
 * the contract's order: disabled → per-user override → first matching rule →
 * rollout (SPLIT) → static (STATIC). No I/O, no clock, no allocation on the
 * common paths: results are shared objects built once per flag and outcome.
 */

export interface EvaluationContext {
  /** The user id; undefined when the caller has none. */
  targetingKey: string | undefined
  /** Attributes rules look at (`plan`, `version`, `ip`, ...). */
  attributes: Readonly<Record<string, unknown>>
  /** The instant to evaluate at (scheduled ramps); default: now. */
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

/**
 * Unleash's selectVariant: bucket = hash % totalWeight + 1, then the first
 * variant (in listed order) whose cumulative weight reaches the bucket.
 */
export function variantIndexFor (cf: CompiledFlag, targetingKey: string): number {
  const target = (murmur3Pair(cf.hashPrefix, targetingKey, VARIANT_SEED) % cf.totalWeight) + 1
  const cumulative = cf.cumulative
  for (let i = 0; i < cumulative.length; i++) {
    // Zero-weight variants repeat the previous sum, so `>=` has already matched an earlier one.
    if ((cumulative[i] as number) >= target) return i
  }
  return cumulative.length - 1
}

/** "On", with a variant when the flag has some. */
function on (cf: CompiledFlag, key: string | undefined, reason: Reason): Evaluation {
  if (cf.totalWeight <= 0) return result(cf, reason, 1)
  if (cf.onlyVariant >= 0) return result(cf, reason, 2 + cf.onlyVariant)
  // Variants are sticky per user; without a user there is no bucket to stick to.
  if (key === undefined) return TARGETING_KEY_MISSING
  return result(cf, reason, 2 + variantIndexFor(cf, key))
}

/** Rollout bucket in 1..100 (Unleash normalizedValue, seed 0). */
export function rolloutBucket (cf: CompiledFlag, targetingKey: string): number {
  return (murmur3Pair(cf.hashPrefix, targetingKey, ROLLOUT_SEED) % 100) + 1
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
    if (o !== undefined) {
      if (o.variant !== undefined) {
        const i = cf.variantIndex.get(o.variant)
        if (i !== undefined) return result(cf, 'TARGETING_MATCH', 2 + i)
        return on(cf, key, 'TARGETING_MATCH')
      }
      if (o.enabled === false) return result(cf, 'TARGETING_MATCH', 0)
      return on(cf, key, 'TARGETING_MATCH')
    }
  }

  const rules = cf.rules
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledFlag['rules'][number]
    // Own properties only: a rule on `constructor` must not read Object.prototype's.
    const value = rule.attribute === 'targetingKey' ? key : Object.hasOwn(ctx.attributes, rule.attribute) ? ctx.attributes[rule.attribute] : undefined
    if (!rule.test(value)) continue
    if (!rule.enabled) return result(cf, 'TARGETING_MATCH', 0)
    if (rule.variant >= 0) return result(cf, 'TARGETING_MATCH', 2 + rule.variant)
    return on(cf, key, 'TARGETING_MATCH')
  }

  if (pct >= 0) {
    // 0% and 100% need no bucket, so they answer even without a targeting key.
    if (pct <= 0) return result(cf, 'SPLIT', 0)
    if (pct >= 100) return on(cf, key, 'SPLIT')
    if (key === undefined) return TARGETING_KEY_MISSING
    return rolloutBucket(cf, key) <= pct ? on(cf, key, 'SPLIT') : result(cf, 'SPLIT', 0)
  }

  return on(cf, key, 'STATIC')
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
