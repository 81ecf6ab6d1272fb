import type { TypeName } from 'libpg-query'
import { intConst, stringsOf, type TypeRef } from './analyzer-state.js'

/**
 * Whether ALTER COLUMN ... TYPE rewrites the table. PostgreSQL skips the
 * rewrite when the old values are valid, bit for bit, in the new type
 * (tablecmds.c, ATColumnChangeRequiresRewrite): a binary-coercible cast and a
 * length/precision limit that only grows. The table is still locked ACCESS
 * EXCLUSIVE, briefly; indexes whose operator class or collation changes are
 * rebuilt; CHECK constraints on the column are re-checked with a scan.
 */

const ALIASES: Record<string, string> = {
  int: 'int4',
  integer: 'int4',
  bigint: 'int8',
  smallint: 'int2',
  decimal: 'numeric',
  boolean: 'bool',
  real: 'float4',
  float: 'float8',
  char: 'bpchar',
  character: 'bpchar',
  'character varying': 'varchar',
  'timestamp with time zone': 'timestamptz',
  'timestamp without time zone': 'timestamp',
  'bit varying': 'varbit'
}

export function typeRefOf (t: TypeName | undefined): TypeRef {
  const names = stringsOf(t?.names)
  const raw = (names[names.length - 1] ?? '?').toLowerCase()
  return {
    name: ALIASES[raw] ?? raw,
    schema: names.length > 1 ? names[names.length - 2] as string : null,
    typmods: (t?.typmods ?? []).map((m) => intConst(m) ?? -1),
    array: (t?.arrayBounds ?? []).length > 0
  }
}

export function typeText (t: TypeRef): string {
  let mods = t.typmods
  // interval's first typmod is a bit mask of its fields: only the precision reads as SQL.
  if (t.name === 'interval') mods = t.typmods.length === 2 ? t.typmods.slice(1) : []
  const restricted = t.name === 'interval' && (t.typmods[0] ?? 32767) !== 32767 ? ' with restricted fields' : ''
  return `${t.name}${mods.length > 0 ? `(${mods.join(',')})` : ''}${t.array ? '[]' : ''}${restricted}`
}

/**
 * `rewrite`: every row and index rewritten under ACCESS EXCLUSIVE.
 * `indexes`: no rewrite, but indexes on the column are rebuilt under ACCESS EXCLUSIVE.
 * `timezone`: no rewrite only when the session TimeZone is UTC (timestamp ⇄ timestamptz, PostgreSQL 12+).
 * `none`: catalog only.
 */
export type ChangeCost = 'rewrite' | 'indexes' | 'timezone' | 'none'

/** Types whose limit is a precision that may only grow (default 6 when unwritten). */
const PRECISION_TYPES = new Set(['timestamp', 'timestamptz', 'time', 'timetz'])
const TEXT_TYPES = new Set(['varchar', 'text'])

function precisionGrows (from: TypeRef, to: TypeRef): boolean {
  if (to.typmods.length === 0) return true
  const was = from.typmods[0] ?? 6
  return (to.typmods[0] ?? 6) >= was
}

/** Interval typmods are [fields, precision]: same fields, precision not lower. */
function intervalGrows (from: TypeRef, to: TypeRef): boolean {
  if (to.typmods.length === 0) return true
  const [fromFields, fromPrecision] = [from.typmods[0] ?? 32767, from.typmods[1] ?? 6]
  const [toFields, toPrecision] = [to.typmods[0] ?? 32767, to.typmods[1] ?? 6]
  return fromFields === toFields && toPrecision >= fromPrecision
}

/** The cost of changing a column of known type `from` to `to` (no USING, same collation). */
export function changeCost (from: TypeRef, to: TypeRef): ChangeCost {
  const [a, b] = [from.name, to.name]
  if (a === b && from.typmods.join() === to.typmods.join() && from.array === to.array) return 'none'
  // Arrays convert element by element (an ArrayCoerceExpr), which PostgreSQL always rewrites.
  if (from.array || to.array) return 'rewrite'
  if (a === 'varchar' && b === 'varchar') {
    const [n, m] = [from.typmods[0], to.typmods[0]]
    return m === undefined || (n !== undefined && m >= n) ? 'none' : 'rewrite'
  }
  if (TEXT_TYPES.has(a) && TEXT_TYPES.has(b)) return b === 'varchar' && to.typmods.length > 0 ? 'rewrite' : 'none'
  if ((TEXT_TYPES.has(a) && b === 'citext') || (a === 'citext' && TEXT_TYPES.has(b))) {
    return to.typmods.length > 0 ? 'rewrite' : 'indexes'
  }
  if (a === 'numeric' && b === 'numeric') {
    if (to.typmods.length === 0) return 'none'
    if (from.typmods.length === 0) return 'rewrite'
    const [p, s] = [from.typmods[0] ?? 0, from.typmods[1] ?? 0]
    const [p2, s2] = [to.typmods[0] ?? 0, to.typmods[1] ?? 0]
    return s2 === s && p2 >= p ? 'none' : 'rewrite'
  }
  if (a === 'varbit' && b === 'varbit') {
    const [n, m] = [from.typmods[0], to.typmods[0]]
    return m === undefined || (n !== undefined && m >= n) ? 'none' : 'rewrite'
  }
  if (a === 'interval' && b === 'interval') return intervalGrows(from, to) ? 'none' : 'rewrite'
  if (PRECISION_TYPES.has(a) && a === b) return precisionGrows(from, to) ? 'none' : 'rewrite'
  if ((a === 'timestamp' && b === 'timestamptz') || (a === 'timestamptz' && b === 'timestamp')) {
    return precisionGrows(from, to) ? 'timezone' : 'rewrite'
  }
  if (a === 'cidr' && b === 'inet') return 'none'
  return 'rewrite'
}

/**
 * When the old type is not in the file: targets that are a no-rewrite
 * widening from the usual source types (`likely`: raising or removing a
 * varchar/numeric/bit varying limit is the common change, lowering one is
 * rare), a time precision below the default 6 (`limit`: from an unlimited
 * column that lowers it, a rewrite), and the rest (`rewrite`).
 */
export function unknownSourceCost (to: TypeRef): 'likely' | 'limit' | 'rewrite' {
  if (to.array) return 'rewrite'
  const widenable = ['text', 'varchar', 'citext', 'numeric', 'inet', 'timestamptz', 'timestamp', 'time', 'timetz', 'interval', 'varbit']
  if (!widenable.includes(to.name)) return 'rewrite'
  if (to.typmods.length === 0) return 'likely'
  if (to.name === 'text' || to.name === 'citext' || to.name === 'inet') return 'rewrite'
  if (PRECISION_TYPES.has(to.name)) return (to.typmods[0] ?? 6) < 6 ? 'limit' : 'likely'
  // Interval typmods are [fields, precision]: fewer fields than the full range (32767) also truncate.
  if (to.name === 'interval') return (to.typmods[0] ?? 32767) !== 32767 || (to.typmods[1] ?? 6) < 6 ? 'limit' : 'likely'
  return 'likely'
}

/** Human description of the no-rewrite sources of a target, for messages. */
export function widenedFrom (to: TypeRef): string {
  switch (to.name) {
    case 'text': return 'varchar or citext'
    case 'varchar': return to.typmods.length > 0 ? `a varchar of at most ${to.typmods[0] ?? '?'} characters` : 'text, citext or any varchar'
    case 'citext': return 'text or varchar'
    case 'numeric': return to.typmods.length > 0 ? 'numeric with the same scale and no more precision' : 'any numeric'
    case 'inet': return 'cidr'
    case 'timestamptz': return 'timestamp (with the session TimeZone UTC) or timestamptz of no more precision'
    case 'timestamp': return 'timestamptz (with the session TimeZone UTC) or timestamp of no more precision'
    case 'varbit': return 'a bit varying of no more bits'
    default: return `${to.name} of no more precision`
  }
}
