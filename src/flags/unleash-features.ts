import { getOwn } from '../state/dict.js'
import type { FlagOverride, FlagRule, FlagVariant, SharedState } from '../state/types.js'
import { LEGACY, Sticky, type CompiledPick, type CompiledRollout } from './buckets.js'
import { compiledFor, type CompiledFlag, type CompiledRule } from './compile.js'
import { scheduledState } from './schedule.js'
import { constraint, contextName, ruleConstraints, stickinessName, type UnleashConstraint } from './unleash-constraints.js'

/**
 * Drawbridge flags in the Unleash client API's format (`GET /api/client/features`),
 * so every Unleash server SDK evaluates them unchanged, with the same answers
 * as OFREP. Drawbridge decides first-match (override, then rules in order, then
 * the rollout); Unleash takes the first strategy that holds, in order. So each
 * outcome that turns the flag on becomes a strategy, in Drawbridge's order,
 * whose constraints also say "no earlier off outcome applied" (earlier off
 * rules negated with `inverted`, overridden users excluded). A rule's
 * conditions become constraints, its rollout a flexibleRollout with its group
 * and stickiness, the variants it chooses strategy variants. Rollout and
 * variant hashes are Unleash's own (murmur3, `groupId:id`), so the buckets
 * agree.
 */

export interface UnleashVariant {
  name: string
  weight: number
  weightType: 'variable'
  stickiness: string
  payload?: { type: 'string' | 'number' | 'json', value: string }
  overrides?: Array<{ contextName: string, values: string[] }>
}

export interface UnleashStrategy {
  name: 'default' | 'flexibleRollout'
  constraints: UnleashConstraint[]
  parameters: Record<string, string>
  variants: UnleashVariant[]
}

export interface UnleashFeature {
  name: string
  type: 'release'
  project: 'default'
  enabled: boolean
  stale: boolean
  impressionData: boolean
  strategies: UnleashStrategy[]
  variants: UnleashVariant[]
  dependencies?: Array<{ feature: string, enabled: boolean, variants?: string[] }>
}

/**
 * More strategies than this for one flag (rules with several operators negate
 * into many): served off, and reported, as is an off rule with a partial
 * rollout (Unleash cannot say "outside this bucket").
 */
export const MAX_STRATEGIES = 100

class TooComplex extends Error {}

/**
 * The ways a rule that serves "off" can fail to match, each one inverted
 * constraint; none when it matches everyone. Unleash has no "outside this
 * bucket", so an off rule with a partial rollout cannot be negated.
 */
function negations (rule: FlagRule, compiled: CompiledRule): UnleashConstraint[] {
  const r = compiled.rollout
  if (r !== null && !(r.percentage >= 100 && (r.stickiness.kind === Sticky.Legacy || r.stickiness.kind === Sticky.Default || r.stickiness.kind === Sticky.Random))) throw new TooComplex()
  return ruleConstraints(rule).map((c) => ({ ...c, inverted: !c.inverted }))
}

export function payloadOf (value: unknown): UnleashVariant['payload'] {
  if (value === undefined) return undefined
  if (typeof value === 'string') return { type: 'string', value }
  if (typeof value === 'number') return { type: 'number', value: String(value) }
  return { type: 'json', value: JSON.stringify(value) }
}

/** A pick's entries as Unleash variants, with their stickiness, payloads and overrides. */
function variantsOf (cf: CompiledFlag, pick: CompiledPick): UnleashVariant[] {
  const stickiness = stickinessName(pick.stickiness)
  return pick.variants.map((index, i) => {
    const def = cf.variants[index] as FlagVariant
    const payload = payloadOf(def.value)
    const weight = (pick.cumulative[i] as number) - (i === 0 ? 0 : pick.cumulative[i - 1] as number)
    const out: UnleashVariant = { name: def.name, weight, weightType: 'variable', stickiness, ...(payload === undefined ? {} : { payload }) }
    if (def.overrides !== undefined && def.overrides.length > 0) out.overrides = def.overrides.map((o) => ({ contextName: contextName(o.attribute), values: o.in }))
    return out
  })
}

/** One variant, always (a rule's or an override's fixed variant). */
function fixed (cf: CompiledFlag, index: number, prefix: string): CompiledPick {
  return { variants: [index], cumulative: [1], total: 1, only: index, prefix, stickiness: LEGACY, overrides: null, plain: true }
}

/**
 * A strategy that turns the flag on where `constraints` hold, within
 * `rollout` (null: everyone), choosing a variant with `pick`; null when it
 * selects no one. The contract's stickiness answers 100% without a user, so
 * it is served as `default`, unless variants need the user id to choose.
 */
function strategy (cf: CompiledFlag, constraints: UnleashConstraint[], rollout: { percentage: number, r: CompiledRollout } | null, pick: CompiledPick): UnleashStrategy | null {
  const variants = pick.total > 0 ? variantsOf(cf, pick) : []
  const groupId = (rollout?.r.prefix ?? pick.prefix).slice(0, -1)
  if (rollout !== null && rollout.percentage <= 0) return null
  if (rollout !== null && rollout.r.stickiness.kind !== Sticky.Legacy) {
    return { name: 'flexibleRollout', constraints, parameters: { rollout: String(rollout.percentage), stickiness: stickinessName(rollout.r.stickiness), groupId }, variants }
  }
  const percentage = rollout === null ? 100 : rollout.percentage
  if (percentage < 100) return { name: 'flexibleRollout', constraints, parameters: { rollout: String(percentage), stickiness: 'userId', groupId }, variants }
  if (variants.length === 0) return { name: 'default', constraints, parameters: {}, variants: [] }
  const needsUser = pick.stickiness.kind === Sticky.Legacy && pick.only < 0
  return { name: 'flexibleRollout', constraints, parameters: { rollout: '100', stickiness: needsUser ? 'userId' : 'default', groupId }, variants }
}

function strategiesFor (cf: CompiledFlag, overrides: Record<string, FlagOverride> | undefined, percentage: number | null): UnleashStrategy[] {
  const flag = cf.flag
  const strategies: UnleashStrategy[] = []
  const push = (s: UnleashStrategy | null): void => { if (s !== null) strategies.push(s) }

  const byOutcome = new Map<string, string[]>()
  for (const [user, o] of Object.entries(overrides ?? {})) {
    const outcome = o.variant !== undefined && cf.variantIndex.has(o.variant) ? `variant:${o.variant}` : o.enabled === false ? 'off' : 'on'
    byOutcome.set(outcome, [...(byOutcome.get(outcome) ?? []), user])
  }
  const overridden = [...byOutcome.values()].flat()
  for (const [outcome, users] of byOutcome) {
    if (outcome === 'off') continue
    const index = outcome.startsWith('variant:') ? cf.variantIndex.get(outcome.slice(8)) as number : -1
    push(strategy(cf, [constraint('targetingKey', 'IN', { values: users })], null, index >= 0 ? fixed(cf, index, cf.pick.prefix) : cf.pick))
  }
  const notOverridden = overridden.length === 0 ? [] : [constraint('targetingKey', 'NOT_IN', { values: overridden })]

  // Unleash takes the first strategy that holds, so only rules that serve "off" must be ruled out of later ones.
  let ways: UnleashConstraint[][] = [[]]
  const rules = flag.rules ?? []
  rules.forEach((rule, i) => {
    const compiled = cf.rules[i] as CompiledRule
    if (compiled.rollout !== null && compiled.rollout.percentage <= 0) return
    if (!compiled.enabled) {
      const not = negations(rule, compiled)
      ways = ways.flatMap((way) => not.map((n) => [...way, n]))
      if (ways.length > MAX_STRATEGIES) throw new TooComplex()
      return
    }
    const pick = compiled.variant >= 0 ? fixed(cf, compiled.variant, (compiled.pick ?? cf.pick).prefix) : compiled.pick ?? cf.pick
    const rollout = compiled.rollout === null ? null : { percentage: compiled.rollout.percentage, r: compiled.rollout }
    for (const way of ways) push(strategy(cf, [...notOverridden, ...ruleConstraints(rule), ...way], rollout, pick))
  })

  const rest = percentage === null ? null : { percentage, r: cf.rollout }
  for (const way of ways) push(strategy(cf, [...notOverridden, ...way], rest, cf.pick))
  if (strategies.length > MAX_STRATEGIES) throw new TooComplex()
  return strategies
}

export interface UnleashTranslation {
  features: UnleashFeature[]
  /** Flags served off because their rules cannot be translated (see MAX_STRATEGIES). */
  tooComplex: string[]
}

/** Every flag of the state as Unleash features, as it stands at `now` (scheduled ramps included). */
export function unleashFeatures (state: SharedState, now: number): UnleashTranslation {
  const features: UnleashFeature[] = []
  const tooComplex: string[] = []
  for (const cf of compiledFor(state).list) {
    const { key, flag } = cf
    const current = scheduledState(flag, now)
    let strategies: UnleashStrategy[] = []
    let enabled = current.enabled
    try {
      strategies = enabled ? strategiesFor(cf, getOwn(state.overrides, key), current.percentage) : []
    } catch (err) {
      if (!(err instanceof TooComplex)) throw err
      tooComplex.push(key)
    }
    // An Unleash feature without strategies is on for everyone; a Drawbridge flag with no way to be on is off.
    if (strategies.length === 0) enabled = false
    const feature: UnleashFeature = { name: key, type: 'release', project: 'default', enabled, stale: false, impressionData: false, strategies, variants: [] }
    const prerequisites = flag.prerequisites ?? []
    if (prerequisites.length > 0) {
      feature.dependencies = prerequisites.map((p) => p.variant !== undefined ? { feature: p.flag, enabled: true, variants: [p.variant] } : { feature: p.flag, enabled: p.enabled ?? true })
    }
    features.push(feature)
  }
  return { features, tooComplex }
}
