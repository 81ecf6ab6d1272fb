import type { Flag, FlagCondition, FlagPrerequisite, FlagRollout, FlagRule, FlagVariant } from '../../src/state/types.js'

/**
 * Unleash features (as `@unleash/client-specification` states them) in
 * Drawbridge's flag model. Every strategy becomes a rule that serves "on"
 * (constraints and segments its conditions, its rollout the rule's rollout
 * with the same group and stickiness, its variants the rule's weights over
 * the flag's variants), and the flag is off when no rule matches, as a
 * feature is when no strategy holds. What the model cannot say throws
 * Unmapped with the reason.
 */

export interface UConstraint { contextName: string, operator: string, values?: string[], value?: string, inverted?: boolean, caseInsensitive?: boolean }
export interface UVariant { name: string, weight: number, stickiness?: string, payload?: { type: string, value: string }, overrides?: Array<{ contextName: string, values: string[] }> }
export interface UStrategy { name: string, parameters?: Record<string, string>, constraints?: UConstraint[], segments?: number[], variants?: UVariant[] }
export interface UDependency { feature: string, enabled?: boolean, variants?: string[] }
export interface UFeature { name: string, enabled: boolean, strategies?: UStrategy[], variants?: UVariant[], dependencies?: UDependency[] }
export interface USegment { id: number, constraints: UConstraint[] }
interface UEvent { type: string, features?: UFeature[], segments?: USegment[], feature?: UFeature, featureName?: string, segment?: USegment }
export interface UState { features?: UFeature[], segments?: USegment[], events?: UEvent[] }

export class Unmapped extends Error {}

/** A state given as delta-API events (hydration, then updates and removals) as features and segments. */
export function replay (state: UState): { features: UFeature[], segments: USegment[] } {
  const features = new Map((state.features ?? []).map((f) => [f.name, f]))
  const segments = new Map((state.segments ?? []).map((s) => [s.id, s]))
  for (const e of state.events ?? []) {
    if (e.type === 'hydration') {
      features.clear()
      segments.clear()
      for (const f of e.features ?? []) features.set(f.name, f)
      for (const s of e.segments ?? []) segments.set(s.id, s)
    } else if (e.type === 'feature-updated' && e.feature !== undefined) features.set(e.feature.name, e.feature)
    else if (e.type === 'feature-removed' && e.featureName !== undefined) features.delete(e.featureName)
    else if (e.type === 'segment-updated' && e.segment !== undefined) segments.set(e.segment.id, e.segment)
    else throw new Error(`unknown delta event ${e.type}`)
  }
  return { features: [...features.values()], segments: [...segments.values()] }
}

/** Unleash's userId is Drawbridge's targeting key. */
function attribute (contextName: string): string {
  return contextName === 'userId' ? 'targetingKey' : contextName
}

function stickiness (name: string): string {
  return name === 'userId' ? 'targetingKey' : name
}

const LIST_OPS: Record<string, keyof FlagCondition> = { IN: 'in', NOT_IN: 'notIn', STR_STARTS_WITH: 'startsWith', STR_ENDS_WITH: 'endsWith', STR_CONTAINS: 'contains', IN_CIDR: 'cidr' }
const NUM_OPS: Record<string, keyof FlagCondition> = { NUM_EQ: 'eq', NUM_LT: 'lt', NUM_LTE: 'lte', NUM_GT: 'gt', NUM_GTE: 'gte' }
const TEXT_OPS: Record<string, keyof FlagCondition> = { SEMVER_LT: 'semverLt', SEMVER_LTE: 'semverLte', SEMVER_GT: 'semverGt', SEMVER_GTE: 'semverGte', SEMVER_EQ: 'semverEq', REGEX: 'regex', DATE_AFTER: 'dateAfter', DATE_BEFORE: 'dateBefore' }
const FOLDING = new Set(['STR_STARTS_WITH', 'STR_ENDS_WITH', 'STR_CONTAINS', 'REGEX'])

export function conditionOf (c: UConstraint): FlagCondition {
  // Unleash's date operators read currentTime whatever the constraint names.
  const name = c.operator.startsWith('DATE_') ? 'currentTime' : attribute(c.contextName)
  const out: Record<string, unknown> = { attribute: name }
  const list = LIST_OPS[c.operator]
  const num = NUM_OPS[c.operator]
  const text = TEXT_OPS[c.operator]
  // Unleash trims list values and drops empty ones before comparing.
  if (list !== undefined) out[list] = (c.values ?? []).filter((v) => v !== '').map((v) => v.trim())
  else if (num !== undefined) {
    const n = Number(c.value)
    if (c.value === undefined || !Number.isFinite(n)) throw new Unmapped('non-numeric operand')
    out[num] = n
  } else if (text !== undefined) {
    if (c.value === undefined) throw new Unmapped(`${c.operator} without a value`)
    out[text] = c.value
  } else {
    // An operator the SDK does not know never holds, inverted or not: a condition that never holds.
    return { attribute: name, in: [] }
  }
  if (c.inverted === true) out.inverted = true
  if (c.caseInsensitive === true && FOLDING.has(c.operator)) out.caseInsensitive = true
  return out as unknown as FlagCondition
}

function payloadValue (p: UVariant['payload']): unknown {
  if (p === undefined) return undefined
  if (p.type === 'string') return p.value
  if (p.type === 'number') return Number(p.value)
  if (p.type === 'json') return JSON.parse(p.value)
  throw new Unmapped(`payload type ${p.type}`)
}

function variantOf (v: UVariant, weight = v.weight): FlagVariant {
  const value = payloadValue(v.payload)
  const out: FlagVariant = { name: v.name, weight }
  if (value !== undefined) out.value = value
  if ((v.overrides ?? []).length > 0) out.overrides = (v.overrides ?? []).map((o) => ({ attribute: attribute(o.contextName), in: o.values }))
  return out
}

const weighted = (list: UVariant[] | FlagVariant[]): number => list.filter((v) => v.weight > 0).length

/** The rollout a strategy puts on its rule; undefined: everyone its constraints select. */
function rolloutOf (s: UStrategy, f: UFeature): FlagRollout | undefined {
  const p = s.parameters ?? {}
  switch (s.name) {
    case 'default': case 'userWithId': case 'remoteAddress': return undefined
    // The legacy strategies hash with their groupId parameter, '' when absent.
    case 'gradualRolloutUserId': return { percentage: Number(p.percentage), groupId: p.groupId ?? '', stickiness: 'targetingKey' }
    case 'gradualRolloutSessionId': return { percentage: Number(p.percentage), groupId: p.groupId ?? '', stickiness: 'sessionId' }
    case 'gradualRolloutRandom': return { percentage: Number(p.percentage), stickiness: 'random' }
    case 'flexibleRollout': return { percentage: Number(p.rollout), groupId: p.groupId !== undefined && p.groupId !== '' ? p.groupId : f.name, stickiness: stickiness(p.stickiness ?? 'default') }
    default: throw new Unmapped(`strategy ${s.name}`)
  }
}

function ruleOf (s: UStrategy, f: UFeature, flag: Flag, segments: Map<number, UConstraint[]>): FlagRule {
  const p = s.parameters ?? {}
  const constraints = [...(s.constraints ?? []), ...(s.segments ?? []).flatMap((id) => {
    const c = segments.get(id)
    // A segment the state does not hold makes the strategy fail: a condition that never holds.
    return c === undefined ? [{ contextName: 'segment', operator: 'IN', values: [] }] : c
  })]
  const conditions = constraints.map(conditionOf)
  if (s.name === 'userWithId') conditions.push({ attribute: 'targetingKey', in: (p.userIds ?? '').split(/\s*,\s*/).filter((u) => u !== '') })
  if (s.name === 'remoteAddress') conditions.push({ attribute: 'remoteAddress', cidr: (p.IPs ?? '').split(/\s*,\s*/).filter((ip) => ip !== '') })
  const rule: FlagRule = { conditions, enabled: true }
  const rollout = rolloutOf(s, f)
  const own = s.variants ?? []
  if (own.length > 0) {
    // Strategy variants: the rule's own weights over the flag's variants, chosen with the strategy's group and stickiness.
    if (own.some((v) => (v.overrides ?? []).length > 0)) throw new Unmapped('strategy variants with overrides')
    const sticky = stickiness(own[0]?.stickiness ?? p.stickiness ?? 'default')
    if (flag.variantStickiness !== undefined && flag.variantStickiness !== sticky) throw new Unmapped('strategy and feature variants with different stickiness')
    if (weighted(own) > 1 && (p.groupId === undefined || p.groupId === '')) throw new Unmapped('strategy variants without a groupId')
    const r = rollout ?? { percentage: 100, groupId: p.groupId, stickiness: sticky }
    if (r.stickiness !== sticky && flag.variantStickiness === undefined) throw new Unmapped('strategy variants stick otherwise than the strategy')
    if (s.name === 'default' && sticky !== 'default') throw new Unmapped('default strategy with variants sticking to a field')
    rule.rollout = r
    rule.variants = own.map((v) => {
      const existing = (flag.variants ?? []).find((d) => d.name === v.name)
      if (existing === undefined) (flag.variants ??= []).push(variantOf(v, 0))
      else if (JSON.stringify(existing.value) !== JSON.stringify(payloadValue(v.payload))) throw new Unmapped('a strategy variant named as a feature variant')
      return { name: v.name, weight: v.weight }
    })
  } else if (rollout !== undefined) {
    // Feature variants are chosen with the feature's name as group; a rule chooses with its own.
    if (weighted(flag.variants ?? []) > 1 && (rollout.groupId ?? f.name) !== f.name) throw new Unmapped('feature variants after a strategy with its own groupId')
    rule.rollout = rollout
  }
  if (conditions.length === 0 && rule.rollout === undefined) rule.rollout = { percentage: 100 }
  return rule
}

/** A dependency as a prerequisite; `names` are the variants the parent can serve. */
function prerequisiteOf (d: UDependency, names: Set<string> | undefined): FlagPrerequisite {
  if (d.enabled === false) return { flag: d.feature, enabled: false }
  const wanted = d.variants ?? []
  if (wanted.length === 0) return { flag: d.feature, enabled: true }
  const servable = wanted.filter((v) => names?.has(v))
  if (servable.length > 1) throw new Unmapped('dependency on one of several variants')
  if (servable.length === 1) return { flag: d.feature, variant: servable[0] as string }
  // Unleash names "on, without a variant" `disabled`.
  if (wanted.includes('disabled') && names !== undefined && names.size === 0) return { flag: d.feature, enabled: true }
  // A variant the parent does not have: a prerequisite that never holds.
  return { flag: d.feature, variant: wanted[0] as string }
}

/** Every feature as a flag, or the reason it does not map. */
export function flagsOf (features: UFeature[], segmentList: USegment[]): Map<string, Flag | Unmapped> {
  const segments = new Map(segmentList.map((s) => [s.id, s.constraints]))
  const out = new Map<string, Flag | Unmapped>()
  for (const f of features) {
    try {
      const variants = f.variants ?? []
      const flag: Flag = {
        key: f.name,
        description: null,
        enabled: f.enabled,
        rollout: (f.strategies ?? []).length === 0 ? null : { percentage: 0 },
        variants: variants.length === 0 ? null : variants.map((v) => variantOf(v)),
        rules: null,
        gate: null,
        requires: null,
        prerequisites: null,
        schedule: null,
        createdAt: '',
        updatedAt: ''
      }
      if (variants.length > 0) flag.variantStickiness = stickiness(variants[0]?.stickiness ?? 'default')
      const rules = (f.strategies ?? []).map((s) => ruleOf(s, f, flag, segments))
      flag.rules = rules.length === 0 ? null : rules
      out.set(f.name, flag)
    } catch (err) {
      if (!(err instanceof Unmapped)) throw err
      out.set(f.name, err)
    }
  }
  // Dependencies last: they name the variants other flags serve.
  for (const f of features) {
    const flag = out.get(f.name)
    if (flag === undefined || flag instanceof Unmapped || (f.dependencies ?? []).length === 0) continue
    try {
      flag.prerequisites = (f.dependencies ?? []).map((d) => {
        const parent = out.get(d.feature)
        return prerequisiteOf(d, parent instanceof Unmapped ? undefined : new Set((parent?.variants ?? []).map((v) => v.name)))
      })
    } catch (err) {
      if (!(err instanceof Unmapped)) throw err
      out.set(f.name, err)
    }
  }
  return out
}

/** An Unleash context as Drawbridge's: userId is the targeting key; top-level fields win over properties, as Unleash reads them. */
export function contextOf (context: Record<string, unknown>): { targetingKey: string | undefined, attributes: Record<string, unknown> } {
  const { userId, properties, ...rest } = context
  return { targetingKey: typeof userId === 'string' && userId !== '' ? userId : undefined, attributes: { ...(properties as Record<string, unknown> | undefined), ...rest } }
}
