import { errors } from '../errors.js'
import { hasControlChars } from '../input/safe-text.js'
import type { Flag, FlagOverride, FlagPrerequisite } from '../state/types.js'
import { checkRules, checkVariants } from './rule-validate.js'
import type { FlagBody, OverrideBody } from './schemas.js'
import { normalizeSchedule, stopSchedule } from './schedule.js'

/**
 * Meaning checks the JSON schema cannot express. Each failure is a 400 whose
 * message starts with the field path, like the schema errors do
 * (`body/rules/0/variant ...`), so a client knows what to fix.
 */

function invalid (message: string): Error {
  return new errors.DRAWBRIDGE_ERR_INVALID(message)
}

function checkGate (gate: Flag['gate']): void {
  gate?.paths.forEach((p, i) => {
    if (hasControlChars(p)) throw invalid(`body/gate/paths/${i} must not contain control characters (got ${JSON.stringify(p)})`)
  })
}

/** Checks a complete flag; throws DRAWBRIDGE_ERR_INVALID naming the field. */
export function checkFlag (flag: Flag): void {
  checkVariants(flag.variants, flag.rules)
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
    ...(body.variantStickiness === undefined || body.variantStickiness === null ? {} : { variantStickiness: body.variantStickiness }),
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
  if (body.variantStickiness === null) delete next.variantStickiness
  else if (body.variantStickiness !== undefined) next.variantStickiness = body.variantStickiness
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
