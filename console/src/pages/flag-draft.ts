import type { Flag, Prerequisite, Rule, Variant } from '../types.js'
import { lines } from '../text.js'

/**
 * A flag as its edit form holds it (every field text, as typed) and back to
 * the PATCH body. Only the shape is checked here; meaning (weights, operands,
 * a variant that exists) is the API's, whose message names the field.
 */

type OperatorKind = 'list' | 'number' | 'version'
export const OPERATORS: ReadonlyArray<{ op: keyof Rule, label: string, kind: OperatorKind }> = [
  { op: 'in', label: 'is one of', kind: 'list' },
  { op: 'notIn', label: 'is none of', kind: 'list' },
  { op: 'startsWith', label: 'starts with', kind: 'list' },
  { op: 'endsWith', label: 'ends with', kind: 'list' },
  { op: 'contains', label: 'contains', kind: 'list' },
  { op: 'eq', label: '=', kind: 'number' },
  { op: 'lt', label: '<', kind: 'number' },
  { op: 'lte', label: '≤', kind: 'number' },
  { op: 'gt', label: '>', kind: 'number' },
  { op: 'gte', label: '≥', kind: 'number' },
  { op: 'semverEq', label: 'version =', kind: 'version' },
  { op: 'semverLt', label: 'version <', kind: 'version' },
  { op: 'semverLte', label: 'version ≤', kind: 'version' },
  { op: 'semverGt', label: 'version >', kind: 'version' },
  { op: 'semverGte', label: 'version ≥', kind: 'version' },
  { op: 'cidr', label: 'address in (CIDR)', kind: 'list' }
]
const OPERATOR_KEYS = new Set<string>(OPERATORS.map((o) => o.op))
const CASE_OPS = new Set(['startsWith', 'endsWith', 'contains'])

export interface RuleDraft { attribute: string, op: string, values: string, caseInsensitive: boolean, serves: string }
export interface VariantDraft { name: string, weight: string, value: string }
export interface PrerequisiteDraft { flag: string, serves: string }

export interface FlagDraft {
  description: string
  /** '' : no rollout (everyone). */
  rollout: string
  groupId: string
  variants: VariantDraft[]
  /** null: the rules cannot be shown as rows (several operators in one rule); edited as JSON instead. */
  rules: RuleDraft[] | null
  rulesJson: string
  gatePaths: string
  gateStatus: string
  requires: string
  prerequisites: PrerequisiteDraft[]
}

export const EMPTY_FLAG_DRAFT: FlagDraft = { description: '', rollout: '', groupId: '', variants: [], rules: [], rulesJson: '[]', gatePaths: '', gateStatus: '404', requires: '', prerequisites: [] }

function servesOf (r: { enabled?: boolean, variant?: string }): string {
  if (r.variant !== undefined) return `variant:${r.variant}`
  return r.enabled === false ? 'off' : 'on'
}

function servesBody (serves: string): { enabled: boolean } | { variant: string } {
  if (serves.startsWith('variant:')) return { variant: serves.slice('variant:'.length) }
  return { enabled: serves !== 'off' }
}

/** What a rule row can show; any other field (conditions, inverted, its own rollout or variants) keeps the rules in JSON, so nothing is dropped on save. */
const ROW_KEYS = new Set(['attribute', 'caseInsensitive', 'enabled', 'variant'])

function ruleDraft (r: Rule): RuleDraft | null {
  const ops = Object.keys(r).filter((k) => OPERATOR_KEYS.has(k))
  if (ops.length !== 1 || typeof r.attribute !== 'string') return null
  if (Object.keys(r).some((k) => !OPERATOR_KEYS.has(k) && !ROW_KEYS.has(k))) return null
  const op = ops[0] as keyof Rule
  const value = r[op]
  return { attribute: r.attribute, op, values: Array.isArray(value) ? value.join(', ') : String(value), caseInsensitive: r.caseInsensitive === true, serves: servesOf(r) }
}

/** A variant's value as the form shows it: text as itself, unless it would read back as JSON (`"42"`), then quoted. */
function valueText (v: unknown): string {
  if (v === undefined) return ''
  return typeof v === 'string' && parseValue(v) === v ? v : JSON.stringify(v)
}

export function toFlagDraft (f: Flag): FlagDraft {
  const rows = (f.rules ?? []).map(ruleDraft)
  return {
    description: f.description ?? '',
    rollout: f.rollout === null ? '' : String(f.rollout.percentage),
    groupId: f.rollout?.groupId ?? '',
    variants: (f.variants ?? []).map((v) => ({ name: v.name, weight: String(v.weight), value: valueText(v.value) })),
    rules: rows.every((r) => r !== null) ? rows as RuleDraft[] : null,
    rulesJson: JSON.stringify(f.rules ?? [], null, 2),
    gatePaths: (f.gate?.paths ?? []).join('\n'),
    gateStatus: String(f.gate?.status ?? 404),
    requires: f.requires ?? '',
    prerequisites: (f.prerequisites ?? []).map((p) => ({ flag: p.flag, serves: servesOf(p) }))
  }
}

/** A variant's value as typed: JSON when it parses (42, true, {"a":1}), else the text itself. */
function parseValue (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

function ruleBody (r: RuleDraft): Rule {
  const kind = OPERATORS.find((o) => o.op === r.op)?.kind ?? 'list'
  const operand = kind === 'list' ? r.values.split(',').map((v) => v.trim()).filter((v) => v !== '') : kind === 'number' ? Number(r.values) : r.values.trim()
  return {
    attribute: r.attribute.trim(),
    [r.op]: operand,
    ...(CASE_OPS.has(r.op) && r.caseInsensitive ? { caseInsensitive: true } : {}),
    ...servesBody(r.serves)
  }
}

/**
 * The PATCH body: only the fields whose form differs from `base` (a merge),
 * so a save never rewrites what was not touched. Throws an Error naming the
 * field a text cannot be read from.
 */
export function flagPatch (d: FlagDraft, base: FlagDraft): Record<string, unknown> {
  const body = fullBody(d)
  const changed = (a: unknown, b: unknown): boolean => JSON.stringify(a) !== JSON.stringify(b)
  const fields: Record<string, Array<keyof FlagDraft>> = {
    description: ['description'],
    rollout: ['rollout', 'groupId'],
    variants: ['variants'],
    rules: ['rules', 'rulesJson'],
    gate: ['gatePaths', 'gateStatus'],
    requires: ['requires'],
    prerequisites: ['prerequisites']
  }
  for (const [field, from] of Object.entries(fields)) if (!from.some((f) => changed(d[f], base[f]))) delete body[field]
  return body
}

function fullBody (d: FlagDraft): Record<string, unknown> {
  let rules: Rule[]
  if (d.rules === null) {
    try {
      rules = JSON.parse(d.rulesJson) as Rule[]
    } catch (err) {
      throw new Error(`Rules: not valid JSON (${(err as Error).message})`)
    }
  } else {
    rules = d.rules.map(ruleBody)
  }
  const variants: Variant[] = d.variants.map((v) => ({ name: v.name.trim(), weight: Number(v.weight), ...(v.value.trim() === '' ? {} : { value: parseValue(v.value) }) }))
  const gatePaths = lines(d.gatePaths)
  const prerequisites: Prerequisite[] = d.prerequisites.map((p) => {
    const serves = servesBody(p.serves)
    return { flag: p.flag.trim(), ...serves }
  })
  return {
    description: d.description.trim() === '' ? null : d.description,
    rollout: d.rollout === '' ? null : { percentage: Number(d.rollout), ...(d.groupId.trim() === '' ? {} : { groupId: d.groupId.trim() }) },
    variants: variants.length === 0 ? null : variants,
    rules: rules.length === 0 ? null : rules,
    gate: gatePaths.length === 0 ? null : { paths: gatePaths, status: Number(d.gateStatus) },
    requires: d.requires.trim() === '' ? null : d.requires.trim(),
    prerequisites: prerequisites.length === 0 ? null : prerequisites
  }
}

/** Each variant's share of the users the flag is on for, in percent. */
export function shares (variants: VariantDraft[]): number[] {
  const weights = variants.map((v) => Math.max(0, Number(v.weight) || 0))
  const total = weights.reduce((a, b) => a + b, 0)
  return weights.map((w) => total === 0 ? 0 : Math.round((w / total) * 1000) / 10)
}
