import { errors } from '../errors.js'
import { hasControlChars } from '../input/safe-text.js'
import { CidrError, parseCidr } from '../net/cidr-set.js'
import type { Flag, FlagOverride, FlagPrerequisite, FlagRule, FlagVariant } from '../state/types.js'
import type { FlagBody, OverrideBody } from './schemas.js'
import { normalizeSchedule, stopSchedule } from './schedule.js'
import { parseSemver } from './semver.js'

/**
 * Meaning checks the JSON schema cannot express. Each failure is a 400 whose
 * message starts with the field path, like the schema errors do
 * (`body/rules/0/variant ...`), so a client knows what to fix.
 */

const OPERATORS = [
  'in', 'notIn', 'startsWith', 'endsWith', 'contains',
  'eq', 'lt', 'lte', 'gt', 'gte',
  'semverLt', 'semverLte', 'semverGt', 'semverGte', 'semverEq',
  'cidr'
] as const satisfies ReadonlyArray<keyof FlagRule>

const SEMVER_OPERATORS = ['semverLt', 'semverLte', 'semverGt', 'semverGte', 'semverEq'] as const

function invalid (message: string): Error {
  return new errors.DRAWBRIDGE_ERR_INVALID(message)
}

function checkVariants (variants: FlagVariant[] | null): void {
  if (variants === null) return
  const seen = new Set<string>()
  let total = 0
  variants.forEach((v, i) => {
    if (seen.has(v.name)) throw invalid(`body/variants/${i}/name "${v.name}" is used twice`)
    seen.add(v.name)
    total += v.weight
  })
  if (variants.length > 0 && total <= 0) throw invalid('body/variants weights must add up to more than 0')
}

function checkRules (rules: FlagRule[] | null, variants: FlagVariant[] | null): void {
  if (rules === null) return
  const names = new Set((variants ?? []).map((v) => v.name))
  rules.forEach((rule, i) => {
    const at = `body/rules/${i}`
    if (!OPERATORS.some((op) => rule[op] !== undefined)) {
      throw invalid(`${at} needs an operator: one of ${OPERATORS.join(', ')}`)
    }
    for (const op of SEMVER_OPERATORS) {
      const operand = rule[op]
      if (operand !== undefined && parseSemver(operand) === null) throw invalid(`${at}/${op} "${operand}" is not a semantic version (like 1.2.3 or 2.0.0-rc.1)`)
    }
    rule.cidr?.forEach((cidr, j) => {
      try {
        parseCidr(cidr)
      } catch (err) {
        if (err instanceof CidrError) throw invalid(`${at}/cidr/${j} ${err.message}`)
        throw err
      }
    })
    if (rule.variant !== undefined) {
      if (rule.enabled === false) throw invalid(`${at}/variant cannot be served by a rule with enabled: false`)
      if (!names.has(rule.variant)) throw invalid(`${at}/variant "${rule.variant}" is not one of the flag's variants`)
    }
  })
}

function checkGate (gate: Flag['gate']): void {
  gate?.paths.forEach((p, i) => {
    if (hasControlChars(p)) throw invalid(`body/gate/paths/${i} must not contain control characters (got ${JSON.stringify(p)})`)
  })
}

/** Checks a complete flag; throws DRAWBRIDGE_ERR_INVALID naming the field. */
export function checkFlag (flag: Flag): void {
  checkVariants(flag.variants)
  checkRules(flag.rules, flag.variants)
  checkGate(flag.gate)
}

/** The body's key, when given, must be the URL's. */
export function checkBodyKey (key: string, body: FlagBody): void {
  if (body.key !== undefined && body.key !== key) throw invalid(`body/key "${body.key}" does not match the key in the URL "${key}"`)
}

/**
 * The flag a PUT describes: fields left out take their defaults; `createdAt`
 * is kept from the flag being replaced.
 */
export function flagFromPut (key: string, body: FlagBody, previous: Flag | undefined, now: string): Flag {
  checkBodyKey(key, body)
  return {
    key,
    description: body.description ?? null,
    enabled: body.enabled ?? false,
    rollout: body.rollout ?? null,
    variants: emptyToNull(body.variants ?? null),
    rules: emptyToNull(body.rules ?? null),
    gate: body.gate ?? null,
    requires: body.requires ?? null,
    prerequisites: normalizePrerequisites(body.prerequisites ?? null),
    schedule: normalizeSchedule(body.schedule ?? null),
    createdAt: previous?.createdAt ?? now,
    updatedAt: now
  }
}

/** A PATCH merged into the current flag: fields left out keep their value, null clears. */
export function flagFromPatch (current: Flag, body: FlagBody, now: string): Flag {
  checkBodyKey(current.key, body)
  const base = body.schedule === null && (current.schedule ?? null) !== null
    ? stopSchedule(current, Date.parse(now), { enabled: body.enabled !== undefined, rollout: body.rollout !== undefined })
    : current
  const next: Flag = { ...base, updatedAt: now }
  if (body.description !== undefined) next.description = body.description
  if (body.enabled !== undefined) next.enabled = body.enabled
  if (body.rollout !== undefined) next.rollout = body.rollout
  if (body.variants !== undefined) next.variants = emptyToNull(body.variants)
  if (body.rules !== undefined) next.rules = emptyToNull(body.rules)
  if (body.gate !== undefined) next.gate = body.gate
  if (body.requires !== undefined) next.requires = body.requires
  if (body.prerequisites !== undefined) next.prerequisites = normalizePrerequisites(body.prerequisites)
  if (body.schedule !== undefined) next.schedule = normalizeSchedule(body.schedule)
  return next
}

/** `{flag}` alone means "on"; `enabled` and `variant` together say two things at once. */
function normalizePrerequisites (list: FlagPrerequisite[] | null): FlagPrerequisite[] | null {
  if (list === null || list.length === 0) return null
  return list.map((p, i) => {
    if (p.enabled !== undefined && p.variant !== undefined) throw invalid(`body/prerequisites/${i} must have one of 'enabled' or 'variant', not both`)
    return p.variant !== undefined ? { flag: p.flag, variant: p.variant } : { flag: p.flag, enabled: p.enabled ?? true }
  })
}

function emptyToNull<T> (list: T[] | null): T[] | null {
  return list === null || list.length === 0 ? null : list
}

/** `{"enabled": bool}` or `{"variant": "name"}`: exactly one, and the variant must exist. */
export function overrideFromBody (flag: Flag, body: OverrideBody): FlagOverride {
  const hasEnabled = body.enabled !== undefined
  const hasVariant = body.variant !== undefined
  if (hasEnabled === hasVariant) throw invalid('body must have exactly one of \'enabled\' or \'variant\'')
  if (body.variant !== undefined) {
    if (!(flag.variants ?? []).some((v) => v.name === body.variant)) {
      throw invalid(`body/variant "${body.variant}" is not one of the variants of flag ${flag.key}`)
    }
    return { variant: body.variant }
  }
  return { enabled: body.enabled as boolean }
}
