import { errors } from '../errors.js'
import { parseIsoDateTime } from '../input/iso-date.js'
import { CidrError, parseCidr } from '../net/cidr-set.js'
import type { FlagCondition, FlagRule, FlagVariant } from '../state/types.js'
import { compileRegex, CURRENT_TIME, OPERATORS, operatorsOf, type ConditionOperands } from './conditions.js'
import { parseSemver } from './semver.js'

/**
 * Meaning checks on a flag's targeting that the JSON schema cannot express
 * (operands that compile, variants that exist, weights that add up). Each
 * failure is a 400 whose message starts with the field path, like the schema
 * errors do (`body/rules/0/conditions/1/regex ...`).
 */

const SEMVER_OPERATORS = ['semverLt', 'semverLte', 'semverGt', 'semverGte', 'semverEq'] as const

function invalid (message: string): Error {
  return new errors.DRAWBRIDGE_ERR_INVALID(message)
}

/** One condition: its attribute with at least one operator, each operand usable. */
function checkCondition (attribute: string, c: ConditionOperands, at: string): void {
  const ops = operatorsOf(c)
  if (ops.length === 0) throw invalid(`${at} needs an operator: one of ${OPERATORS.join(', ')}`)
  if (c.inverted === true && ops.length > 1) {
    throw invalid(`${at}/inverted negates a single operator, and this condition has ${ops.length} (${ops.join(', ')}): give each its own condition`)
  }
  for (const op of SEMVER_OPERATORS) {
    const operand = c[op]
    if (operand !== undefined && parseSemver(operand) === null) throw invalid(`${at}/${op} "${operand}" is not a semantic version (like 1.2.3 or 2.0.0-rc.1)`)
  }
  c.cidr?.forEach((cidr, j) => {
    try {
      parseCidr(cidr)
    } catch (err) {
      if (err instanceof CidrError) throw invalid(`${at}/cidr/${j} ${err.message}`)
      throw err
    }
  })
  if (c.regex !== undefined) {
    const re = compileRegex(c.regex, c.caseInsensitive === true)
    if (typeof re === 'string') throw invalid(`${at}/regex is not a pattern Drawbridge can run in linear time (RE2 syntax): ${re}`)
  }
  for (const op of ['dateAfter', 'dateBefore'] as const) {
    const operand = c[op]
    if (operand === undefined) continue
    if (attribute !== CURRENT_TIME) throw invalid(`${at}/${op} compares the evaluation instant, so its attribute must be "${CURRENT_TIME}" (got "${attribute}")`)
    if (parseIsoDateTime(operand) === null) throw invalid(`${at}/${op} must be an ISO 8601 date-time with a timezone, e.g. 2026-12-01T09:00:00Z (got ${JSON.stringify(operand)})`)
  }
}

/** The rule's own weights: over the flag's variants, each once, adding up to more than 0. */
function checkRuleVariants (rule: FlagRule, names: ReadonlySet<string>, at: string): void {
  if (rule.variants === undefined) return
  if (rule.variant !== undefined) throw invalid(`${at}/variants cannot be used with variant: a rule serves one variant or chooses among several`)
  if (rule.enabled === false) throw invalid(`${at}/variants cannot be served by a rule with enabled: false`)
  const seen = new Set<string>()
  let total = 0
  rule.variants.forEach((v, j) => {
    if (!names.has(v.name)) throw invalid(`${at}/variants/${j}/name "${v.name}" is not one of the flag's variants`)
    if (seen.has(v.name)) throw invalid(`${at}/variants/${j}/name "${v.name}" is used twice`)
    seen.add(v.name)
    total += v.weight
  })
  if (total <= 0) throw invalid(`${at}/variants weights must add up to more than 0`)
}

export function checkRules (rules: FlagRule[] | null, variants: FlagVariant[] | null): void {
  if (rules === null) return
  const names = new Set((variants ?? []).map((v) => v.name))
  rules.forEach((rule, i) => {
    const at = `body/rules/${i}`
    const own = operatorsOf(rule).length > 0
    if (rule.attribute !== undefined) checkCondition(rule.attribute, rule, at)
    else if (own) throw invalid(`${at}/attribute is required beside an operator`)
    else if (rule.inverted !== undefined || rule.caseInsensitive !== undefined) throw invalid(`${at}/${rule.inverted !== undefined ? 'inverted' : 'caseInsensitive'} applies to the rule's own attribute, and it has none: set it on a condition`)
    rule.conditions?.forEach((c: FlagCondition, j) => checkCondition(c.attribute, c, `${at}/conditions/${j}`))
    if (!own && (rule.conditions ?? []).length === 0 && rule.rollout === undefined) {
      throw invalid(`${at} needs an operator (one of ${OPERATORS.join(', ')}), conditions or a rollout`)
    }
    if (rule.variant !== undefined) {
      if (rule.enabled === false) throw invalid(`${at}/variant cannot be served by a rule with enabled: false`)
      if (!names.has(rule.variant)) throw invalid(`${at}/variant "${rule.variant}" is not one of the flag's variants`)
    }
    checkRuleVariants(rule, names, at)
  })
}

/**
 * Unique names; weights adding up to more than 0, unless rules serve the
 * variants (a variant only rules choose may weigh 0 for everyone else).
 */
export function checkVariants (variants: FlagVariant[] | null, rules: FlagRule[] | null): void {
  if (variants === null) return
  const seen = new Set<string>()
  let total = 0
  variants.forEach((v, i) => {
    if (seen.has(v.name)) throw invalid(`body/variants/${i}/name "${v.name}" is used twice`)
    seen.add(v.name)
    total += v.weight
  })
  const servedByRules = (rules ?? []).some((r) => r.variant !== undefined || r.variants !== undefined)
  if (variants.length > 0 && total <= 0 && !servedByRules) throw invalid('body/variants weights must add up to more than 0')
}
