import type { FlagRule } from '../state/types.js'
import { Sticky, type Stickiness } from './buckets.js'
import type { ConditionOperands, Operator } from './conditions.js'

/**
 * Drawbridge conditions as Unleash constraints. Each operator of a condition
 * is one constraint (a condition holds when all its operators do, a strategy
 * when all its constraints do), with Unleash's own `inverted` and
 * `caseInsensitive`.
 */

export interface UnleashConstraint {
  contextName: string
  operator: string
  values?: string[]
  value?: string
  inverted: boolean
  caseInsensitive: boolean
}

const UNLEASH_OPERATOR: Readonly<Record<Operator, string>> = {
  in: 'IN',
  notIn: 'NOT_IN',
  startsWith: 'STR_STARTS_WITH',
  endsWith: 'STR_ENDS_WITH',
  contains: 'STR_CONTAINS',
  cidr: 'IN_CIDR',
  eq: 'NUM_EQ',
  lt: 'NUM_LT',
  lte: 'NUM_LTE',
  gt: 'NUM_GT',
  gte: 'NUM_GTE',
  semverLt: 'SEMVER_LT',
  semverLte: 'SEMVER_LTE',
  semverGt: 'SEMVER_GT',
  semverGte: 'SEMVER_GTE',
  semverEq: 'SEMVER_EQ',
  regex: 'REGEX',
  dateAfter: 'DATE_AFTER',
  dateBefore: 'DATE_BEFORE'
}

/** Unleash names the user id `userId`; Drawbridge's rules call it `targetingKey`. */
export function contextName (attribute: string): string {
  return attribute === 'targetingKey' ? 'userId' : attribute
}

/** Unleash's stickiness parameter for a compiled stickiness (the contract's one hashes the user id). */
export function stickinessName (s: Stickiness): string {
  switch (s.kind) {
    case Sticky.Default: return 'default'
    case Sticky.Random: return 'random'
    case Sticky.Attribute: return contextName(s.attribute)
    default: return 'userId'
  }
}

export function constraint (attribute: string, operator: string, operand: { values: string[] } | { value: string }): UnleashConstraint {
  return { contextName: contextName(attribute), operator, ...operand, inverted: false, caseInsensitive: false }
}

/** One condition's operators as constraints that must all hold. */
function conditionConstraints (attribute: string, c: ConditionOperands): UnleashConstraint[] {
  const out: UnleashConstraint[] = []
  for (const op of Object.keys(UNLEASH_OPERATOR) as Operator[]) {
    const operand = c[op]
    if (operand === undefined) continue
    const k = constraint(attribute, UNLEASH_OPERATOR[op], Array.isArray(operand) ? { values: operand } : { value: String(operand) })
    // Unleash folds case for the string operators and REGEX only, as Drawbridge does.
    if (c.caseInsensitive === true && (op === 'startsWith' || op === 'endsWith' || op === 'contains' || op === 'regex')) k.caseInsensitive = true
    if (c.inverted === true) k.inverted = true
    out.push(k)
  }
  return out
}

/** Every condition of a rule (its own attribute's, then `conditions`) as constraints that must all hold. */
export function ruleConstraints (rule: FlagRule): UnleashConstraint[] {
  const out = rule.attribute === undefined ? [] : conditionConstraints(rule.attribute, rule)
  for (const c of rule.conditions ?? []) out.push(...conditionConstraints(c.attribute, c))
  return out
}
