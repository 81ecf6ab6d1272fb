/**
 * What an audit entry records of a change: the fields that changed, not whole
 * copies. A copy of a 100k-entry allowlist per one-word message change grew
 * the log by megabytes a write; this keeps an entry to a few KiB whatever the
 * state holds.
 */

/** A value whose JSON is longer than this is summarised. */
export const AUDIT_VALUE_MAX_BYTES = 1024
/** Entries of a list change listed in a summary; the counts say how many there were. */
const LISTED_ENTRIES = 20

type Fields = Record<string, unknown>

function isFields (value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isStringList (value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
}

function same (a: unknown, b: unknown): boolean {
  if (a === b) return true
  // Lists of strings (allowlists, paths) compared entry by entry: stringifying a 100k-entry list twice per write costs ~10 ms.
  if (isStringList(a) && isStringList(b)) return a.length === b.length && a.every((v, i) => v === b[i])
  return JSON.stringify(a) === JSON.stringify(b)
}

/** `value` when short; else its size, and for a list of strings what was added and removed against `other`. */
function summarise (value: unknown, other: unknown): unknown {
  const json = JSON.stringify(value) ?? ''
  if (json.length <= AUDIT_VALUE_MAX_BYTES) return value
  const summary: Fields = { summarised: true, bytes: Buffer.byteLength(json) }
  if (Array.isArray(value)) summary.entries = value.length
  if (isStringList(value)) {
    const others = new Set(isStringList(other) ? other : [])
    const mine = new Set(value)
    const added = value.filter((v) => !others.has(v))
    const removed = [...others].filter((v) => !mine.has(v))
    summary.added = added.slice(0, LISTED_ENTRIES).map((v) => v.slice(0, 256))
    summary.addedCount = added.length
    summary.removedCount = removed.length
  }
  return summary
}

/**
 * The audit entry's `before` and `after`: for two objects, only the fields
 * that differ (on either side); otherwise both values (a creation, a
 * deletion). Long values are summarised (size, and for lists of strings the
 * entries this side has that the other lacks).
 */
export function auditChange (before: unknown, after: unknown): { before: unknown, after: unknown } {
  if (isFields(before) && isFields(after)) {
    const [was, now] = fieldChanges(before, after)
    return { before: was, after: now }
  }
  // A creation or a deletion: the whole object, field by field.
  if (isFields(after) && (before === null || before === undefined)) return { before: before ?? null, after: fieldChanges({}, after)[1] }
  if (isFields(before) && (after === null || after === undefined)) return { before: fieldChanges(before, {})[0], after: after ?? null }
  return { before: summarise(before, after), after: summarise(after, before) }
}

function fieldChanges (before: Fields, after: Fields): [Fields, Fields] {
  const was: Fields = {}
  const now: Fields = {}
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = Object.hasOwn(before, key) ? before[key] : undefined
    const a = Object.hasOwn(after, key) ? after[key] : undefined
    if (same(b, a)) continue
    if (b !== undefined) was[key] = summarise(b, a)
    if (a !== undefined) now[key] = summarise(a, b)
  }
  return [was, now]
}
