import { createRequire } from 'node:module'
import type { RE2JS } from 're2js'
import { parseIsoDateTime } from '../input/iso-date.js'
import { CidrSet } from '../net/cidr-set.js'
import type { FlagCondition } from '../state/types.js'
import { compareSemver, parseSemver, type SemVer } from './semver.js'

/**
 * One condition (an attribute and the operators it must pass) compiled into
 * a predicate once per state change: operands become Sets, numbers, parsed
 * versions, instants and compiled RE2 programs, so evaluation never parses or
 * compiles anything.
 */

/** A matcher over one context value (`undefined`: the attribute is absent); `now` is the evaluation instant, when the caller fixed one. */
export type Predicate = (value: unknown, now: number | undefined) => boolean

export interface CompiledCondition {
  readonly attribute: string
  readonly test: Predicate
}

/** The operator fields of a condition, in the order the Unleash translation lists them. */
export const OPERATORS = [
  'in', 'notIn', 'startsWith', 'endsWith', 'contains',
  'eq', 'lt', 'lte', 'gt', 'gte',
  'semverLt', 'semverLte', 'semverGt', 'semverGte', 'semverEq',
  'cidr', 'regex', 'dateAfter', 'dateBefore'
] as const satisfies ReadonlyArray<keyof FlagCondition>

export type Operator = typeof OPERATORS[number]
export type ConditionOperands = Partial<Pick<FlagCondition, Operator | 'caseInsensitive' | 'inverted'>>

/** The attribute date operators compare: the evaluation instant (Unleash's currentTime). */
export const CURRENT_TIME = 'currentTime'
/** Instructions of a compiled pattern: with the length bound, keeps one match of a 64 KiB value within milliseconds. */
export const MAX_REGEX_PROGRAM = 5000

export function toText (value: unknown): string | undefined {
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

/** The instant a `currentTime` value names (ISO text or epoch ms); absent: now. NaN when it names none. */
function toInstant (value: unknown, now: number | undefined): number {
  if (value === undefined || value === null) return now ?? Date.now()
  if (typeof value === 'number') return value
  if (typeof value === 'string') return Date.parse(value)
  return NaN
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
 * re2js is loaded on the first regex rule, not at start: its source and code
 * are about 1 MB of heap that a gateway without REGEX rules never needs
 * (heapUsed 3 s after start, three starts each: 19.7-21.3 MB with it loaded, 19.0-20.5 without).
 * Its CommonJS build, so loading stays synchronous inside compile.
 */
let engine: typeof RE2JS | undefined
function re2 (): typeof RE2JS {
  engine ??= (createRequire(import.meta.url)('re2js') as { RE2JS: typeof RE2JS }).RE2JS
  return engine
}

/**
 * A pattern compiled with re2js (RE2's linear-time engine, as Unleash's SDKs
 * use), or the reason it cannot be: RE2 refuses backreferences and
 * lookarounds, and the program size is bounded.
 */
export function compileRegex (pattern: string, caseInsensitive: boolean): RE2JS | string {
  const engine = re2()
  let re: RE2JS
  try {
    re = engine.compile(pattern, caseInsensitive ? engine.CASE_INSENSITIVE : 0)
  } catch (err) {
    return (err as Error).message
  }
  if (re.programSize() > MAX_REGEX_PROGRAM) return `compiles to ${re.programSize()} instructions, more than ${MAX_REGEX_PROGRAM}`
  return re
}

/** The operators a condition sets. */
export function operatorsOf (c: ConditionOperands): Operator[] {
  return OPERATORS.filter((op) => c[op] !== undefined)
}

/**
 * All operators a condition sets must hold (AND); `inverted` negates the one
 * operator it may have. An absent attribute matches only `notIn` (as in
 * Unleash), and inverted operators. Null when an operand cannot be compiled
 * (a bad semver or pattern that slipped past validation): the rule holding
 * it never matches.
 */
export function compileCondition (attribute: string, c: ConditionOperands): CompiledCondition | null {
  const tests: Predicate[] = []
  let broken = false
  if (c.in !== undefined) {
    const set = new Set(c.in)
    tests.push((v) => { const s = toText(v); return s !== undefined && set.has(s) })
  }
  if (c.notIn !== undefined) {
    const set = new Set(c.notIn)
    tests.push((v) => { const s = toText(v); return s === undefined || !set.has(s) })
  }
  const fold = c.caseInsensitive === true
  const text = fold ? (v: unknown) => toText(v)?.toLocaleLowerCase() : toText
  const operands = (list: string[]): string[] => fold ? list.map((p) => p.toLocaleLowerCase()) : list
  if (c.startsWith !== undefined) {
    const list = operands(c.startsWith)
    tests.push((v) => { const s = text(v); return s !== undefined && list.some((p) => s.startsWith(p)) })
  }
  if (c.endsWith !== undefined) {
    const list = operands(c.endsWith)
    tests.push((v) => { const s = text(v); return s !== undefined && list.some((p) => s.endsWith(p)) })
  }
  if (c.contains !== undefined) {
    const list = operands(c.contains)
    tests.push((v) => { const s = text(v); return s !== undefined && list.some((p) => s.includes(p)) })
  }
  const { eq, lt, lte, gt, gte } = c
  if (eq !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n === eq })
  if (lt !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n < lt })
  if (lte !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n <= lte })
  if (gt !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n > gt })
  if (gte !== undefined) tests.push((v) => { const n = toNumber(v); return n !== undefined && n >= gte })
  const semvers: Array<[string | undefined, (c: number) => boolean]> = [
    [c.semverLt, (r) => r < 0],
    [c.semverLte, (r) => r <= 0],
    [c.semverGt, (r) => r > 0],
    [c.semverGte, (r) => r >= 0],
    [c.semverEq, (r) => r === 0]
  ]
  for (const [operand, accept] of semvers) {
    if (operand === undefined) continue
    const p = semverPredicate(operand, accept)
    if (p === null) broken = true
    else tests.push(p)
  }
  if (c.cidr !== undefined) {
    // An entry that is not a CIDR is skipped, as Unleash's IN_CIDR does (the API refuses one; a state from elsewhere may hold it).
    let cidrs: CidrSet | null = null
    try { cidrs = CidrSet.compile(c.cidr, { onInvalid: () => {} }) } catch { broken = true }
    if (cidrs !== null) {
      const set = cidrs
      tests.push((v) => typeof v === 'string' && set.has(v))
    }
  }
  if (c.regex !== undefined) {
    const re = compileRegex(c.regex, fold)
    if (typeof re === 'string') broken = true
    else tests.push((v) => { const s = toText(v); return s !== undefined && re.test(s) })
  }
  for (const [operand, after] of [[c.dateAfter, true], [c.dateBefore, false]] as const) {
    if (operand === undefined) continue
    const at = attribute === CURRENT_TIME ? parseIsoDateTime(operand) : null
    if (at === null) broken = true
    else tests.push(after ? (v, now) => toInstant(v, now) > at : (v, now) => toInstant(v, now) < at)
  }
  if (broken || tests.length === 0) return null
  let test: Predicate
  if (tests.length === 1) test = tests[0] as Predicate
  else test = (v, now) => { for (const t of tests) if (!t(v, now)) return false; return true }
  if (c.inverted === true) {
    const inner = test
    test = (v, now) => !inner(v, now)
  }
  return { attribute, test }
}

/** Instants (epoch ms) at which a condition's answer can change with the clock alone: its date operands on currentTime. */
export function conditionInstants (attribute: string | undefined, c: ConditionOperands): number[] {
  if (attribute !== CURRENT_TIME) return []
  const out: number[] = []
  for (const operand of [c.dateAfter, c.dateBefore]) {
    const at = operand === undefined ? null : parseIsoDateTime(operand)
    if (at !== null) out.push(at)
  }
  return out
}
