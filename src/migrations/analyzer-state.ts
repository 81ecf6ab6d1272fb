import type { Node, RangeVar } from 'libpg-query'
import type { Finding } from './analyzer.js'

/**
 * What the analyzer knows while it walks one migration file in order: which
 * objects the file itself created (empty, unused by running code), column
 * types it declared, constraints it added or validated, and the transaction
 * the current statement runs in with the table locks already held there.
 */

export type Rule = Omit<Finding, 'migration' | 'line' | 'statement'>

/** PostgreSQL's table lock modes, weakest first (LOCK TABLE's numbering). */
export enum LockMode {
  AccessShare = 1, RowShare, RowExclusive, ShareUpdateExclusive, Share, ShareRowExclusive, Exclusive, AccessExclusive
}

export const LOCK_NAMES: Record<LockMode, string> = {
  [LockMode.AccessShare]: 'ACCESS SHARE',
  [LockMode.RowShare]: 'ROW SHARE',
  [LockMode.RowExclusive]: 'ROW EXCLUSIVE',
  [LockMode.ShareUpdateExclusive]: 'SHARE UPDATE EXCLUSIVE',
  [LockMode.Share]: 'SHARE',
  [LockMode.ShareRowExclusive]: 'SHARE ROW EXCLUSIVE',
  [LockMode.Exclusive]: 'EXCLUSIVE',
  [LockMode.AccessExclusive]: 'ACCESS EXCLUSIVE'
}

/** A column type as written: last name component, lower case, with its typmods. */
export interface TypeRef {
  name: string
  /** Schema if written (pg_catalog for SQL-standard spellings such as varchar). */
  schema: string | null
  typmods: number[]
  array: boolean
}

export interface HeldLock {
  mode: LockMode
  line: number
  /** The statement that took it already has a high finding of its own. */
  flagged: boolean
}

/** The transaction the next statement runs in. */
export interface TxState {
  /** The statement runs inside a transaction block. */
  open: boolean
  /** That block is the one Drawbridge opened for this file (no COMMIT seen yet). */
  managed: boolean
  /** Line of the file's own BEGIN while that block is open. */
  beginLine: number | null
  /** Existing tables locked by earlier statements of this transaction, by qualified name. */
  locks: Map<string, HeldLock>
  /** Constraints added NOT VALID in this transaction: qualified table + name → line. */
  notValid: Map<string, number>
  /** Enum values added in this transaction (cannot be used before commit): value → line. */
  enumValues: Map<string, number>
  /** Rules about this transaction already reported once. */
  reported: Set<string>
}

export class FileState {
  /** Unqualified names resolve here (the first schema of `SET search_path`, else public). */
  searchSchema = 'public'
  /** Relations (tables, views, sequences, indexes) created in this file, qualified. */
  readonly relations = new Set<string>()
  /** Types and domains created in this file, qualified. */
  readonly types = new Set<string>()
  /** Schemas created in this file: everything in them is new. */
  readonly schemas = new Set<string>()
  /** Declared column types, by `schema.table.column`. */
  readonly columns = new Map<string, TypeRef>()
  /** CHECK (col IS NOT NULL) constraints by `schema.table.constraint` → column. */
  readonly notNullChecks = new Map<string, string>()
  /** Columns known NOT NULL through a validated CHECK, `schema.table.column`. */
  readonly provenNotNull = new Set<string>()
  /** Tables with some constraint validated here whose definition this file does not show. */
  readonly validatedElsewhere = new Set<string>()
  /** Tables given a valid CHECK constraint in this file (lets ATTACH PARTITION skip its scan). */
  readonly validChecks = new Set<string>()
  /** Columns read by CHECK constraints added in this file, `schema.table.column`. */
  readonly checkedColumns = new Set<string>()
  /** Domains with constraints created in this file: a new column of one is checked row by row. */
  readonly checkedDomains = new Set<string>()
  readonly tx: TxState

  constructor (readonly transactional: boolean) {
    this.tx = { open: transactional, managed: transactional, beginLine: null, locks: new Map(), notValid: new Map(), enumValues: new Map(), reported: new Set() }
  }

  /** `schema.name` of a relation, unqualified names resolved like PostgreSQL would here. */
  qualify (rel: RangeVar | undefined): string {
    if (rel === undefined) return '?'
    const schema = rel.relpersistence === 't' ? 'pg_temp' : (rel.schemaname ?? this.searchSchema)
    return `${schema}.${rel.relname ?? '?'}`
  }

  /** `schema.name` of a dotted name list (`[name]`, `[schema, name]`, `[db, schema, name]`). */
  qualifyList (parts: string[]): string {
    const name = parts[parts.length - 1] ?? '?'
    const schema = parts.length >= 2 ? parts[parts.length - 2] as string : this.searchSchema
    return `${schema}.${name}`
  }

  /** Created in this file (or in a schema created in this file): empty and unused by running code. */
  isNew (qualified: string): boolean {
    return this.relations.has(qualified) || this.schemas.has(qualified.slice(0, qualified.lastIndexOf('.')))
  }

  isNewType (qualified: string): boolean {
    return this.types.has(qualified) || this.schemas.has(qualified.slice(0, qualified.lastIndexOf('.')))
  }

  /** Forget what one transaction held: at COMMIT/ROLLBACK, and after each autocommitted statement. */
  endTransaction (): void {
    this.tx.locks.clear()
    this.tx.notValid.clear()
    this.tx.enumValues.clear()
    this.tx.reported.clear()
  }
}

export function stringsOf (nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : '')).filter((s) => s !== '')
}

/** The name a relation is written with, for messages. */
export function displayName (rel: RangeVar | undefined): string {
  if (rel === undefined) return '?'
  return rel.schemaname !== undefined ? `${rel.schemaname}.${rel.relname ?? '?'}` : (rel.relname ?? '?')
}

/** ' name' or '' — for optional names inside messages. */
export function label (name: string | undefined): string {
  return name === undefined || name === '' ? '' : ` ${name}`
}

export function hasOption (options: Node[] | undefined, name: string): boolean {
  return (options ?? []).some((o) => {
    if (!('DefElem' in o) || o.DefElem.defname !== name) return false
    // `VACUUM (FULL false)`: an explicit false turns the option off.
    const arg = o.DefElem.arg
    if (arg === undefined) return true
    if ('Boolean' in arg) return arg.Boolean.boolval === true
    if ('String' in arg) return !['false', 'off', '0', 'no'].includes((arg.String.sval ?? '').toLowerCase())
    if ('Integer' in arg) return arg.Integer.ival !== undefined && arg.Integer.ival !== 0
    return true
  })
}

/** Integer value of a typmod constant (protobuf leaves out zeros). */
export function intConst (node: Node | undefined): number | null {
  if (node === undefined || !('A_Const' in node)) return null
  const c = node.A_Const
  if (c.ival !== undefined) return c.ival.ival ?? 0
  return null
}

/** Every node of a given kind anywhere in a tree. */
export function collect<T> (tree: unknown, kind: string, out: T[] = []): T[] {
  if (Array.isArray(tree)) {
    for (const item of tree) collect(item, kind, out)
  } else if (tree !== null && typeof tree === 'object') {
    for (const [key, value] of Object.entries(tree)) {
      if (key === kind) out.push(value as T)
      collect(value, kind, out)
    }
  }
  return out
}
