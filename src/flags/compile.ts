import { createHash } from 'node:crypto'
import { CidrSet } from '../net/cidr-set.js'
import { getOwn } from '../state/dict.js'
import type { Flag, FlagOverride, FlagRule, FlagVariant, SharedState } from '../state/types.js'
import { unresolvable } from './prerequisites.js'
import { scheduledState } from './schedule.js'
import { compareSemver, parseSemver, type SemVer } from './semver.js'

/**
 * Flags turned into lookup tables once per state change, so evaluation on the
 * request path is a few comparisons and at most two hashes per flag: rule
 * operands are Sets, numbers and parsed versions, the rollout hash prefix is a
 * ready string, variant weights are cumulative.
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

/** A matcher over one context value; `undefined` means the attribute is absent. */
type Predicate = (value: unknown) => boolean

export interface CompiledRule {
  attribute: string
  test: Predicate
  /** What a match serves. */
  enabled: boolean
  /** Index of the variant a match serves, or -1 (hash-chosen when on). */
  variant: number
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
  /** `"<groupId>:"`, hashed ahead of the targeting key. */
  readonly hashPrefix: string
  /** Rollout percentage, or -1 when the flag has no rollout. */
  readonly percentage: number
  readonly variants: readonly FlagVariant[]
  readonly variantIndex: ReadonlyMap<string, number>
  /** Cumulative weights in listed order (zero weights never win: equal to the previous sum). */
  readonly cumulative: readonly number[]
  readonly totalWeight: number
  /** When exactly one variant has weight, it is chosen without a targeting key. */
  readonly onlyVariant: number
  readonly rules: readonly CompiledRule[]
  readonly overrides: ReadonlyMap<string, FlagOverride> | null
  readonly gate: { readonly status: number, readonly paths: readonly string[] } | null
  /** The ramp in time order; empty for most flags. */
  readonly steps: readonly CompiledStep[]
  /** Linked by compileFlags once every flag is compiled; empty for most flags. */
  readonly prerequisites: CompiledPrerequisite[]
  /** Last time (ms) each outcome slot was served in this process; harvested by the stats tracker. */
  readonly seen: number[]
  /** Lazily built, shared result objects: callers never mutate them. */
  readonly results: Array<Evaluation | undefined>
}

export interface CompiledFlags {
  readonly state: SharedState
  /** In key order, so listings and bulk answers are stable. */
  readonly list: readonly CompiledFlag[]
  readonly byKey: ReadonlyMap<string, CompiledFlag>
  readonly gated: readonly CompiledFlag[]
  /** Digest of everything evaluation depends on (flags and overrides), for ETags. */
  readonly fingerprint: string
}

function toText (value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return undefined
}

function toNumber (value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value)
    return Number.isFinite(n) ? n : undefined
  }
  return undefined
}

// One-entry parse cache: a request's `version` attribute is compared by every
// semver rule of every flag, so it is parsed once, not once per rule.
let lastSemverText: string | null = null
let lastSemver: SemVer | null = null

function parseSemverCached (text: string): SemVer | null {
  if (text !== lastSemverText) {
    lastSemver = parseSemver(text)
    lastSemverText = text
  }
  return lastSemver
}

function semverPredicate (operand: string, accept: (c: number) => boolean): Predicate | null {
  const target = parseSemver(operand)
  if (target === null) return null
  return (value) => {
    if (typeof value !== 'string') return false
    const v = parseSemverCached(value)
    return v !== null && accept(compareSemver(v, target))
  }
}

/**
 * All operators a rule sets must hold (AND). An absent attribute matches only
 * `notIn`, as in Unleash. A rule with an operand that cannot be compiled (a bad
 * semver or CIDR that slipped past validation) never matches.
 */
export function compileRule (rule: FlagRule, variantIndex: ReadonlyMap<string, number>): CompiledRule {
  const tests: Predicate[] = []
  let broken = false
  if (rule.in !== undefined) {
    const set = new Set(rule.in)
    tests.push((v) => { const s = toText(v); return s !== undefined && set.has(s) })
  }
  if (rule.notIn !== undefined) {
    const set = new Set(rule.notIn)
    tests.push((v) => { const s = toText(v); return s === undefined || !set.has(s) })
  }
  const fold = rule.caseInsensitive === true
  const text = fold ? (v: unknown) => toText(v)?.toLocaleLowerCase() : toText
  const operands = (list: string[]): string[] => fold ? list.map((p) => p.toLocaleLowerCase()) : list
  if (rule.startsWith !== undefined) {
    const list = operands(rule.startsWith)
    tests.push((v) => { const s = text(v); return s !== undefined && list.some((p) => s.startsWith(p)) })
  }
  if (rule.endsWith !== undefined) {
    const list = operands(rule.endsWith)
    tests.push((v) => { const s = text(v); return s !== undefined && list.some((p) => s.endsWith(p)) })
  }
  if (rule.contains !== undefined) {
    const list = operands(rule.contains)
    tests.push((v) => { const s = text(v); return s !== undefined && list.some((p) => s.includes(p)) })
  }
  const { eq, lt, lte, gt, gte } = rule
  if (eq !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n === eq })
  if (lt !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n < lt })
  if (lte !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n <= lte })
  if (gt !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n > gt })
  if (gte !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n >= gte })
  const semvers: Array<[string | undefined, (c: number) => boolean]> = [
    [rule.semverLt, (c) => c < 0],
    [rule.semverLte, (c) => c <= 0],
    [rule.semverGt, (c) => c > 0],
    [rule.semverGte, (c) => c >= 0],
    [rule.semverEq, (c) => c === 0]
  ]
  for (const [operand, accept] of semvers) {
    if (operand === undefined) continue
    const p = semverPredicate(operand, accept)
    if (p === null) broken = true
    else tests.push(p)
  }
  if (rule.cidr !== undefined) {
    let set: CidrSet | null = null
    // An entry that is not a CIDR is skipped, as Unleash's IN_CIDR does (the API refuses one; a state from elsewhere may hold it).
    try { set = CidrSet.compile(rule.cidr, { onInvalid: () => {} }) } catch { broken = true }
    if (set !== null) {
      const cidrs = set
      tests.push((v) => typeof v === 'string' && cidrs.has(v))
    }
  }
  let test: Predicate
  if (broken || tests.length === 0) test = () => false
  else if (tests.length === 1) test = tests[0] as Predicate
  else test = (v) => { for (const t of tests) if (!t(v)) return false; return true }
  const variant = rule.variant === undefined ? -1 : (variantIndex.get(rule.variant) ?? -2)
  // A rule naming a variant that no longer exists serves plain "on" rather than failing.
  return { attribute: rule.attribute, test, enabled: rule.enabled ?? true, variant: variant === -2 ? -1 : variant }
}

function compileSchedule (flag: Flag): CompiledStep[] {
  return (flag.schedule ?? []).map((s, i, all) => {
    const state = scheduledState({ ...flag, schedule: all.slice(0, i + 1) }, Infinity)
    return { atMs: Date.parse(s.at), enabled: state.enabled, percentage: state.percentage ?? -1 }
  })
}

/** Epoch ms of the first step after `now` in any flag of the table, or Infinity: when answers computed now stop holding. */
export function nextStepAt (table: CompiledFlags, now: number): number {
  let next = Infinity
  for (const cf of table.list) {
    for (const s of cf.steps) if (s.atMs > now) { if (s.atMs < next) next = s.atMs; break }
  }
  return next
}

/**
 * An entity tag for answers computed from this table at `now` (and `input`,
 * the caller's request context): the flags' fingerprint plus how many
 * scheduled steps have begun, since a step changes answers without a new state.
 */
export function answersTag (table: CompiledFlags, now: number, input = ''): string {
  let begun = 0
  for (const cf of table.list) for (const s of cf.steps) if (s.atMs <= now) begun++
  return '"' + createHash('sha1').update(table.fingerprint).update('\n').update(input).update(`\n${begun}`).digest('base64url') + '"'
}

export function compileFlag (flag: Flag, overrides: Record<string, FlagOverride> | undefined): CompiledFlag {
  const variants = flag.variants ?? []
  const variantIndex = new Map<string, number>()
  const cumulative: number[] = []
  let total = 0
  let weighted = 0
  let onlyVariant = -1
  variants.forEach((v, i) => {
    variantIndex.set(v.name, i)
    const w = v.weight > 0 ? v.weight : 0
    total += w
    cumulative.push(total)
    if (w > 0) { weighted++; onlyVariant = i }
  })
  const overrideEntries = overrides === undefined ? [] : Object.entries(overrides)
  const groupId = flag.rollout?.groupId ?? flag.key
  return {
    key: flag.key,
    flag,
    enabled: flag.enabled,
    hashPrefix: groupId + ':',
    percentage: flag.rollout === null ? -1 : flag.rollout.percentage,
    variants,
    variantIndex,
    cumulative,
    totalWeight: total,
    onlyVariant: weighted === 1 ? onlyVariant : -1,
    rules: (flag.rules ?? []).map((r) => compileRule(r, variantIndex)),
    overrides: overrideEntries.length === 0 ? null : new Map(overrideEntries),
    gate: flag.gate === null || flag.gate.paths.length === 0 ? null : { status: flag.gate.status, paths: flag.gate.paths.slice() },
    steps: compileSchedule(flag),
    prerequisites: [],
    seen: new Array<number>(2 + variants.length).fill(0),
    results: []
  }
}

export function compileFlags (state: SharedState): CompiledFlags {
  const keys = Object.keys(state.flags).sort()
  const list: CompiledFlag[] = []
  const byKey = new Map<string, CompiledFlag>()
  const gated: CompiledFlag[] = []
  const digest = createHash('sha1')
  for (const key of keys) {
    const flag = getOwn(state.flags, key) as Flag
    const overrides = getOwn(state.overrides, key)
    const compiled = compileFlag(flag, overrides)
    list.push(compiled)
    byKey.set(key, compiled)
    if (compiled.gate !== null) gated.push(compiled)
    // updatedAt/description do not change answers; leaving them out keeps ETags stable across cosmetic edits.
    const { description: _d, updatedAt: _u, createdAt: _c, ...evaluated } = flag
    digest.update(JSON.stringify(evaluated)).update('\n').update(JSON.stringify(overrides ?? null)).update('\n')
  }
  linkPrerequisites(byKey)
  return { state, list, byKey, gated, fingerprint: digest.digest('base64url') }
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
