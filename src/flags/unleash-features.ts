import { getOwn } from '../state/dict.js'
import type { Flag, FlagOverride, FlagRule, FlagVariant, SharedState } from '../state/types.js'
import { scheduledState } from './schedule.js'

/**
 * Drawbridge flags in the Unleash client API's format (`GET /api/client/features`),
 * so every Unleash server SDK evaluates them unchanged, with the same answers
 * as OFREP. Drawbridge decides first-match (override, then rules in order, then
 * the rollout); Unleash enables a feature when any strategy holds. So each
 * outcome becomes a strategy whose constraints also say "no earlier outcome
 * applied" (earlier rules negated with `inverted`, override users excluded).
 * Rollout and variant hashes are Unleash's own (murmur3, `groupId:userId`), so
 * the buckets agree.
 */

export interface UnleashConstraint {
  contextName: string
  operator: string
  values?: string[]
  value?: string
  inverted: boolean
  caseInsensitive: boolean
}

export interface UnleashVariant {
  name: string
  weight: number
  weightType: 'variable'
  stickiness: 'userId'
  payload?: { type: 'string' | 'number' | 'json', value: string }
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

/** More strategies than this for one flag (rules with several operators negate into many): served off, and reported. */
export const MAX_STRATEGIES = 100

function contextName (attribute: string): string {
  return attribute === 'targetingKey' ? 'userId' : attribute
}

function constraint (attribute: string, operator: string, operand: { values: string[] } | { value: string }): UnleashConstraint {
  return { contextName: contextName(attribute), operator, ...operand, inverted: false, caseInsensitive: false }
}

/** A rule's operators as constraints that must all hold (Drawbridge's rule semantics are Unleash's). */
function ruleConstraints (rule: FlagRule): UnleashConstraint[] {
  const a = rule.attribute
  const out: UnleashConstraint[] = []
  const lists: Array<[string[] | undefined, string]> = [
    [rule.in, 'IN'], [rule.notIn, 'NOT_IN'], [rule.startsWith, 'STR_STARTS_WITH'], [rule.endsWith, 'STR_ENDS_WITH'], [rule.contains, 'STR_CONTAINS'], [rule.cidr, 'IN_CIDR']
  ]
  for (const [values, operator] of lists) {
    if (values === undefined) continue
    const c = constraint(a, operator, { values })
    if (rule.caseInsensitive === true && operator.startsWith('STR_')) c.caseInsensitive = true
    out.push(c)
  }
  const singles: Array<[number | string | undefined, string]> = [
    [rule.eq, 'NUM_EQ'], [rule.lt, 'NUM_LT'], [rule.lte, 'NUM_LTE'], [rule.gt, 'NUM_GT'], [rule.gte, 'NUM_GTE'],
    [rule.semverLt, 'SEMVER_LT'], [rule.semverLte, 'SEMVER_LTE'], [rule.semverGt, 'SEMVER_GT'], [rule.semverGte, 'SEMVER_GTE'], [rule.semverEq, 'SEMVER_EQ']
  ]
  for (const [value, operator] of singles) if (value !== undefined) out.push(constraint(a, operator, { value: String(value) }))
  return out
}

/**
 * The ways a set of rules can all fail to match: one inverted constraint per
 * rule, for each choice (a rule with one operator has one way to fail).
 */
function noneMatch (rules: FlagRule[]): UnleashConstraint[][] {
  let ways: UnleashConstraint[][] = [[]]
  for (const rule of rules) {
    const negations = ruleConstraints(rule).map((c) => ({ ...c, inverted: !c.inverted }))
    ways = ways.flatMap((way) => negations.map((n) => [...way, n]))
    if (ways.length > MAX_STRATEGIES) throw new TooComplex()
  }
  return ways
}

class TooComplex extends Error {}

function payloadOf (value: unknown): UnleashVariant['payload'] {
  if (value === undefined) return undefined
  if (typeof value === 'string') return { type: 'string', value }
  if (typeof value === 'number') return { type: 'number', value: String(value) }
  return { type: 'json', value: JSON.stringify(value) }
}

function variantsOf (variants: FlagVariant[]): UnleashVariant[] {
  return variants.map((v) => {
    const payload = payloadOf(v.value)
    return { name: v.name, weight: v.weight, weightType: 'variable', stickiness: 'userId', ...(payload === undefined ? {} : { payload }) }
  })
}

function strategiesFor (flag: Flag, overrides: Record<string, FlagOverride> | undefined, percentage: number | null): UnleashStrategy[] {
  const variants = variantsOf(flag.variants ?? [])
  const groupId = flag.rollout?.groupId ?? flag.key
  const strategies: UnleashStrategy[] = []
  // "On" for the users these constraints select. With variants, a flexibleRollout at 100% carries the
  // group the variant hash uses, and needs a userId, as Drawbridge does to choose a variant.
  const on = (constraints: UnleashConstraint[], serve: UnleashVariant[] = variants): UnleashStrategy => serve.length === 0
    ? { name: 'default', constraints, parameters: {}, variants: [] }
    : { name: 'flexibleRollout', constraints, parameters: { rollout: '100', stickiness: 'userId', groupId }, variants: serve }

  const byOutcome = new Map<string, string[]>()
  for (const [user, o] of Object.entries(overrides ?? {})) {
    const outcome = o.variant !== undefined ? `variant:${o.variant}` : o.enabled === false ? 'off' : 'on'
    byOutcome.set(outcome, [...(byOutcome.get(outcome) ?? []), user])
  }
  const overridden = [...byOutcome.values()].flat()
  for (const [outcome, users] of byOutcome) {
    if (outcome === 'off') continue
    const only = constraint('targetingKey', 'IN', { values: users })
    const variant = outcome.startsWith('variant:') ? variants.filter((v) => `variant:${v.name}` === outcome).map((v) => ({ ...v, weight: 1 })) : variants
    strategies.push(on([only], variant.length === 0 && outcome.startsWith('variant:') ? variants : variant))
  }
  const notOverridden = overridden.length === 0 ? [] : [constraint('targetingKey', 'NOT_IN', { values: overridden })]

  const rules = flag.rules ?? []
  rules.forEach((rule, i) => {
    if (rule.enabled === false) return
    const serve = rule.variant === undefined ? variants : variants.filter((v) => v.name === rule.variant).map((v) => ({ ...v, weight: 1 }))
    for (const way of noneMatch(rules.slice(0, i))) strategies.push(on([...notOverridden, ...ruleConstraints(rule), ...way], serve))
  })

  const rest = noneMatch(rules)
  if (percentage === null || percentage >= 100) {
    for (const way of rest) strategies.push(on([...notOverridden, ...way]))
  } else if (percentage > 0) {
    for (const way of rest) {
      strategies.push({ name: 'flexibleRollout', constraints: [...notOverridden, ...way], parameters: { rollout: String(percentage), stickiness: 'userId', groupId }, variants })
    }
  }
  if (strategies.length > MAX_STRATEGIES) throw new TooComplex()
  return strategies
}

export interface UnleashTranslation {
  features: UnleashFeature[]
  /** Flags served off because their rules negate into more than MAX_STRATEGIES strategies. */
  tooComplex: string[]
}

/** Every flag of the state as Unleash features, as it stands at `now` (scheduled ramps included). */
export function unleashFeatures (state: SharedState, now: number): UnleashTranslation {
  const features: UnleashFeature[] = []
  const tooComplex: string[] = []
  for (const key of Object.keys(state.flags).sort()) {
    const flag = getOwn(state.flags, key) as Flag
    const current = scheduledState(flag, now)
    let strategies: UnleashStrategy[] = []
    let enabled = current.enabled
    try {
      strategies = enabled ? strategiesFor(flag, getOwn(state.overrides, key), current.percentage) : []
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
