import { createHash } from 'node:crypto'
import { compileBlockMatcher, type PathMatcher } from '../http/paths.js'
import { getOwn } from '../state/dict.js'
import type { Flag, FlagCondition, FlagOverride, FlagRule, FlagVariant, SharedState } from '../state/types.js'
import { compilePick, compileStickiness, stickinessReads, type CompiledPick, type CompiledRollout } from './buckets.js'
import { compileCondition, conditionInstants, operatorsOf, type CompiledCondition, type Predicate } from './conditions.js'
import { unresolvable } from './prerequisites.js'
import { scheduledState } from './schedule.js'

/**
 * Flags turned into lookup tables once per state change, so evaluation on the
 * request path is a few comparisons and at most two hashes per flag: rule
 * operands are Sets, numbers, parsed versions, instants and compiled RE2
 * programs (conditions.ts), rollout hash prefixes are ready strings, variant
 * weights are cumulative (buckets.ts).
 */

export type Reason = 'STATIC' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'PREREQUISITE_FAILED' | 'ERROR'
export type EvaluationErrorCode = 'FLAG_NOT_FOUND' | 'TARGETING_KEY_MISSING'

export interface Evaluation {
  /** On or off for this user. */
  readonly value: boolean
  /** Chosen variant name (flags with variants, when on), else null. */
  readonly variant: string | null
  readonly reason: Reason
  readonly errorCode?: EvaluationErrorCode
  /** Outcome slot for usage stats: 0 off, 1 on, 2 + i variant i; -1 for errors. */
  readonly slot: number
}

export interface CompiledRule {
  /** Attribute and test of the rule's first condition (the contract's `attribute` and operators). */
  attribute: string
  test: Predicate
  /** Its other conditions, all of which must hold too; null: none. */
  more: readonly CompiledCondition[] | null
  /** The rule's own rollout; null: everyone its conditions select. */
  rollout: CompiledRollout | null
  /** What a match serves. */
  enabled: boolean
  /** Index of the variant a match serves, or -1 (hash-chosen when on). */
  variant: number
  /** How a match chooses a variant, when the rule has its own weights, group or stickiness; null: the flag's. */
  pick: CompiledPick | null
  /** One condition, no rollout: the contract's rule, decided by `test` alone. */
  plain: boolean
}

/** A prerequisite linked to the compiled flag it names; target null: it can never hold (a cycle). */
export interface CompiledPrerequisite {
  readonly target: CompiledFlag | null
  /** Index of the variant it needs, or -1 when it needs on/off. */
  readonly variant: number
  readonly enabled: boolean
}

/** A schedule step with the values in force from `atMs` (earlier steps and the flag's own fields folded in). */
export interface CompiledStep {
  readonly atMs: number
  readonly enabled: boolean
  /** -1: no rollout. */
  readonly percentage: number
}

export interface CompiledFlag {
  readonly key: string
  readonly flag: Flag
  readonly enabled: boolean
  /** Rollout percentage, or -1 when the flag has no rollout. */
  readonly percentage: number
  /** The flag rollout's group (`"<groupId>:"`) and stickiness; its percentage may come from the schedule. */
  readonly rollout: CompiledRollout
  readonly variants: readonly FlagVariant[]
  readonly variantIndex: ReadonlyMap<string, number>
  /** How the flag's own variants are chosen. */
  readonly pick: CompiledPick
  readonly rules: readonly CompiledRule[]
  readonly overrides: ReadonlyMap<string, FlagOverride> | null
  /**
   * A gate blocks, so its matcher takes every spelling of its paths (case,
   * `;params`: paths.ts compileBlockMatcher); compiled here, once per state change.
   */
  readonly gate: { readonly status: number, readonly paths: readonly string[], readonly matches: PathMatcher } | null
  /** The ramp in time order; empty for most flags. */
  readonly steps: readonly CompiledStep[]
  /** Instants (epoch ms, ascending) at which date conditions on currentTime change their answer; empty for most flags. */
  readonly instants: readonly number[]
  /** Context attributes evaluation may read (rules, stickiness, variant overrides). */
  readonly reads: readonly string[]
  /** Linked by compileFlags once every flag is compiled; empty for most flags. */
  readonly prerequisites: CompiledPrerequisite[]
  /** Last time (ms) each outcome slot was served in this process; harvested by the stats tracker. */
  readonly seen: number[]
  /** Lazily built, shared result objects: callers never mutate them. */
  readonly results: Array<Evaluation | undefined>
}

/** A gated flag: index into `list`, key, and its gate (matcher compiled with the table). */
export interface GateEntry { readonly index: number, readonly key: string, readonly status: number, readonly matches: PathMatcher }

export interface CompiledFlags {
  readonly state: SharedState
  /** In key order, so listings and bulk answers are stable. */
  readonly list: readonly CompiledFlag[]
  readonly byKey: ReadonlyMap<string, CompiledFlag>
  /** The gated flags in key order, with their index in `list`: what the gateway checks per request. */
  readonly gates: readonly GateEntry[]
  /** Digest of everything evaluation depends on (flags and overrides), for ETags. */
  readonly fingerprint: string
}

const ALWAYS: Predicate = () => true
const NEVER: Predicate = () => false

/** The rule's own condition (its `attribute` and operators), if it has one, then its `conditions`. */
function conditionsOf (rule: FlagRule): Array<{ attribute: string, operands: FlagCondition | FlagRule }> {
  const list: Array<{ attribute: string, operands: FlagCondition | FlagRule }> = []
  if (rule.attribute !== undefined && operatorsOf(rule).length > 0) list.push({ attribute: rule.attribute, operands: rule })
  for (const c of rule.conditions ?? []) list.push({ attribute: c.attribute, operands: c })
  return list
}

/** What a flag's rules and rollouts share: the flag's group, stickiness and variants. */
interface FlagFrame {
  readonly group: string
  readonly rolloutStickiness: string | undefined
  readonly variantStickiness: string | null | undefined
  readonly variants: readonly FlagVariant[]
  readonly variantIndex: ReadonlyMap<string, number>
}

/**
 * A rule: every condition must hold (AND), then its rollout. A rule with an
 * operand that cannot be compiled (a bad semver or pattern that slipped past
 * validation), or with nothing to test, never matches. A rule's rollout and the variants it chooses
 * hash with its own groupId and stickiness, else the flag rollout's.
 */
export function compileRule (rule: FlagRule, frame: FlagFrame): CompiledRule {
  const compiled = conditionsOf(rule).map((c) => compileCondition(c.attribute, c.operands))
  // No condition and no rollout: a rule the API refuses ("needs an operator"); from a stored state it matches no one.
  const broken = compiled.some((c) => c === null) || (compiled.length === 0 && rule.rollout === undefined)
  const conditions = compiled as CompiledCondition[]
  const first = conditions[0]
  const group = rule.rollout?.groupId ?? frame.group
  const rollout = rule.rollout === undefined
    ? null
    : { percentage: rule.rollout.percentage, prefix: group + ':', stickiness: compileStickiness(rule.rollout.stickiness ?? frame.rolloutStickiness) }
  let pick: CompiledPick | null = null
  if (rule.variants !== undefined || rule.rollout !== undefined) {
    const entries = rule.variants === undefined
      ? frame.variants.map((v, index) => ({ index, weight: v.weight }))
      : rule.variants.flatMap((v) => { const index = frame.variantIndex.get(v.name); return index === undefined ? [] : [{ index, weight: v.weight }] })
    const stickiness = frame.variantStickiness ?? rule.rollout?.stickiness ?? frame.rolloutStickiness
    pick = compilePick(entries, frame.variants, group + ':', compileStickiness(stickiness))
  }
  const variant = rule.variant === undefined ? -1 : (frame.variantIndex.get(rule.variant) ?? -2)
  return {
    attribute: broken ? 'targetingKey' : first?.attribute ?? 'targetingKey',
    test: broken ? NEVER : first?.test ?? ALWAYS,
    more: broken || conditions.length <= 1 ? null : conditions.slice(1),
    rollout,
    enabled: rule.enabled ?? true,
    // A rule naming a variant that no longer exists serves plain "on" rather than failing.
    variant: variant === -2 ? -1 : variant,
    pick,
    plain: (broken || conditions.length <= 1) && rollout === null
  }
}

function compileSchedule (flag: Flag): CompiledStep[] {
  return (flag.schedule ?? []).map((s, i, all) => {
    const state = scheduledState({ ...flag, schedule: all.slice(0, i + 1) }, Infinity)
    return { atMs: Date.parse(s.at), enabled: state.enabled, percentage: state.percentage ?? -1 }
  })
}

/** Epoch ms of the first step or date threshold after `now` in any flag of the table, or Infinity: when answers computed now stop holding. */
export function nextStepAt (table: CompiledFlags, now: number): number {
  let next = Infinity
  for (const cf of table.list) {
    for (const s of cf.steps) if (s.atMs > now) { if (s.atMs < next) next = s.atMs; break }
    for (const at of cf.instants) if (at > now) { if (at < next) next = at; break }
  }
  return next
}

/**
 * An entity tag for answers computed from this table at `now` (and `input`,
 * the caller's request context): the flags' fingerprint plus how many
 * scheduled steps and date thresholds have passed, since those change
 * answers without a new state.
 */
export function answersTag (table: CompiledFlags, now: number, input = ''): string {
  let begun = 0
  for (const cf of table.list) {
    for (const s of cf.steps) if (s.atMs <= now) begun++
    for (const at of cf.instants) if (at <= now) begun++
  }
  return '"' + createHash('sha1').update(table.fingerprint).update('\n').update(input).update(`\n${begun}`).digest('base64url') + '"'
}

/** Attributes and instants a flag's evaluation depends on, besides the targeting key. */
function dependencies (flag: Flag, rules: readonly CompiledRule[], flagRollout: CompiledRollout, pick: CompiledPick): { reads: string[], instants: number[] } {
  const reads = new Set<string>(stickinessReads(flagRollout.stickiness))
  const instants = new Set<number>()
  const picks = [pick, ...rules.map((r) => r.pick)]
  for (const rule of flag.rules ?? []) {
    for (const c of conditionsOf(rule)) {
      reads.add(c.attribute)
      for (const at of conditionInstants(c.attribute, c.operands)) instants.add(at)
    }
  }
  for (const r of rules) if (r.rollout !== null) for (const a of stickinessReads(r.rollout.stickiness)) reads.add(a)
  for (const p of picks) {
    if (p === null) continue
    for (const a of stickinessReads(p.stickiness)) reads.add(a)
    for (const o of p.overrides ?? []) reads.add(o.attribute)
  }
  reads.delete('targetingKey')
  return { reads: [...reads], instants: [...instants].sort((a, b) => a - b) }
}

export function compileFlag (flag: Flag, overrides: Record<string, FlagOverride> | undefined): CompiledFlag {
  const variants = flag.variants ?? []
  const variantIndex = new Map<string, number>()
  variants.forEach((v, i) => variantIndex.set(v.name, i))
  const overrideEntries = overrides === undefined ? [] : Object.entries(overrides)
  const group = flag.rollout?.groupId ?? flag.key
  const frame: FlagFrame = { group, rolloutStickiness: flag.rollout?.stickiness, variantStickiness: flag.variantStickiness, variants, variantIndex }
  const rollout: CompiledRollout = { percentage: flag.rollout === null ? -1 : flag.rollout.percentage, prefix: group + ':', stickiness: compileStickiness(flag.rollout?.stickiness) }
  const pick = compilePick(variants.map((v, index) => ({ index, weight: v.weight })), variants, group + ':', compileStickiness(flag.variantStickiness ?? flag.rollout?.stickiness))
  const rules = (flag.rules ?? []).map((r) => compileRule(r, frame))
  const { reads, instants } = dependencies(flag, rules, rollout, pick)
  return {
    key: flag.key,
    flag,
    enabled: flag.enabled,
    percentage: rollout.percentage,
    rollout,
    variants,
    variantIndex,
    pick,
    rules,
    overrides: overrideEntries.length === 0 ? null : new Map(overrideEntries),
    gate: flag.gate === null || flag.gate.paths.length === 0 ? null : { status: flag.gate.status, paths: flag.gate.paths.slice(), matches: compileBlockMatcher(flag.gate.paths) },
    steps: compileSchedule(flag),
    instants,
    reads,
    prerequisites: [],
    seen: new Array<number>(2 + variants.length).fill(0),
    results: []
  }
}

export function compileFlags (state: SharedState): CompiledFlags {
  const keys = Object.keys(state.flags).sort()
  const list: CompiledFlag[] = []
  const byKey = new Map<string, CompiledFlag>()
  const gates: GateEntry[] = []
  const digest = createHash('sha1')
  for (const key of keys) {
    const flag = getOwn(state.flags, key) as Flag
    const overrides = getOwn(state.overrides, key)
    const compiled = compileFlag(flag, overrides)
    list.push(compiled)
    byKey.set(key, compiled)
    if (compiled.gate !== null) gates.push({ index: list.length - 1, key, status: compiled.gate.status, matches: compiled.gate.matches })
    // updatedAt/description do not change answers; leaving them out keeps ETags stable across cosmetic edits.
    const { description: _d, updatedAt: _u, createdAt: _c, ...evaluated } = flag
    digest.update(JSON.stringify(evaluated)).update('\n').update(JSON.stringify(overrides ?? null)).update('\n')
  }
  linkPrerequisites(byKey)
  return { state, list, byKey, gates, fingerprint: digest.digest('base64url') }
}

/**
 * Points each prerequisite at the compiled flag it names. One that names a
 * missing flag or variant, or sits on a cycle (the API refuses both; a state
 * from elsewhere may have them), never holds, so evaluation always ends.
 */
function linkPrerequisites (byKey: Map<string, CompiledFlag>): void {
  const flags = new Map([...byKey].map(([key, cf]) => [key, cf.flag]))
  const cyclic = unresolvable(flags)
  for (const cf of byKey.values()) {
    for (const p of cf.flag.prerequisites ?? []) {
      const target = cyclic.has(cf.key) ? undefined : byKey.get(p.flag)
      const variant = p.variant === undefined ? -1 : (target?.variantIndex.get(p.variant) ?? -2)
      cf.prerequisites.push({ target: target === undefined || variant === -2 ? null : target, variant, enabled: p.enabled ?? true })
    }
  }
}

const cache = new WeakMap<SharedState, CompiledFlags>()

/** Compiles a state once, however many callers (gateway, OFREP, admin) ask for it. */
export function compiledFor (state: SharedState): CompiledFlags {
  let compiled = cache.get(state)
  if (compiled === undefined) {
    compiled = compileFlags(state)
    cache.set(state, compiled)
  }
  return compiled
}
