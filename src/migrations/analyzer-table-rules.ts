import type { AlterTableCmd, ColumnDef, Constraint, Node, RangeVar } from 'libpg-query'
import type { Finding } from './analyzer.js'

/**
 * The analyzer's rules for table definitions (columns, constraints, ALTER
 * TABLE commands) and the helpers its statement rules share.
 */

export type Rule = Omit<Finding, 'migration' | 'line' | 'statement'>

/**
 * Functions whose value differs per row: as a column default they force
 * PostgreSQL to rewrite the whole table under ACCESS EXCLUSIVE (a constant or
 * STABLE default such as now() is stored once in the catalog instead).
 */
const VOLATILE_FUNCTIONS = new Set([
  'random', 'gen_random_uuid', 'uuid_generate_v1', 'uuid_generate_v1mc', 'uuid_generate_v4',
  'uuidv4', 'uuidv7', 'clock_timestamp', 'timeofday', 'nextval', 'txid_current', 'setseed', 'random_normal'
])
const SERIAL_TYPES = new Set(['smallserial', 'serial', 'bigserial', 'serial2', 'serial4', 'serial8'])

/** Context of one file while its statements are walked in order. */
export interface FileState {
  /** Tables created earlier in this same file: empty, nobody uses them yet. */
  created: Set<string>
  transactional: boolean
}

export function tableKey (rel: RangeVar | undefined): string {
  return rel?.relname ?? ''
}

export function displayName (rel: RangeVar | undefined): string {
  if (rel === undefined) return '?'
  return rel.schemaname !== undefined ? `${rel.schemaname}.${rel.relname ?? '?'}` : (rel.relname ?? '?')
}

/** ' name' or '' — for optional names inside messages. */
export function label (name: string | undefined): string {
  return name === undefined || name === '' ? '' : ` ${name}`
}

export function isNew (state: FileState, rel: RangeVar | undefined): boolean {
  return state.created.has(tableKey(rel))
}

export function stringsOf (nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : '')).filter((s) => s !== '')
}

/** Every function name called anywhere inside an expression tree. */
function calledFunctions (tree: unknown, out: string[] = []): string[] {
  if (Array.isArray(tree)) {
    for (const item of tree) calledFunctions(item, out)
  } else if (tree !== null && typeof tree === 'object') {
    for (const [key, value] of Object.entries(tree)) {
      if (key === 'FuncCall') {
        const names = stringsOf((value as { funcname?: Node[] }).funcname)
        const last = names[names.length - 1]
        if (last !== undefined) out.push(last.toLowerCase())
      }
      calledFunctions(value, out)
    }
  }
  return out
}

export function hasOption (options: Node[] | undefined, name: string): boolean {
  return (options ?? []).some((o) => 'DefElem' in o && o.DefElem.defname === name)
}

function columnRules (table: RangeVar | undefined, col: ColumnDef): Rule[] {
  const out: Rule[] = []
  const name = `${displayName(table)}.${col.colname ?? '?'}`
  const constraints = (col.constraints ?? []).flatMap((c) => ('Constraint' in c ? [c.Constraint] : []))
  const def = constraints.find((c) => c.contype === 'CONSTR_DEFAULT')
  const typeNames = stringsOf(col.typeName?.names)
  const typeName = (typeNames[typeNames.length - 1] ?? '').toLowerCase()
  const generatedStored = constraints.some((c) => c.contype === 'CONSTR_GENERATED')
  const identity = constraints.some((c) => c.contype === 'CONSTR_IDENTITY')
  const volatile = def !== undefined ? calledFunctions(def.raw_expr).filter((f) => VOLATILE_FUNCTIONS.has(f)) : []

  if (volatile.length > 0 || SERIAL_TYPES.has(typeName) || generatedStored || identity) {
    const why = volatile.length > 0
      ? `its default calls ${volatile.join(', ')}(), which is volatile`
      : SERIAL_TYPES.has(typeName) ? `${typeName} fills every existing row from a sequence` : generatedStored ? 'a stored generated column is computed for every existing row' : 'an identity column is filled for every existing row'
    out.push({
      rule: 'adding-field-with-default',
      severity: 'high',
      message: `Adding ${name}: ${why}, so PostgreSQL rewrites the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes until it finishes.`,
      fix: 'Add the column without a default (or with a constant one), backfill existing rows in batches, then SET DEFAULT for new rows.'
    })
  } else if (def === undefined && constraints.some((c) => c.contype === 'CONSTR_NOTNULL')) {
    out.push({
      rule: 'adding-required-field',
      severity: 'medium',
      message: `Adding ${name} as NOT NULL without a default fails on a table that has rows, and old code that does not set it can no longer INSERT.`,
      fix: 'Add it nullable (or with a constant DEFAULT), backfill, then add a CHECK (col IS NOT NULL) NOT VALID constraint, VALIDATE it, and SET NOT NULL.'
    })
  }
  for (const c of constraints) out.push(...constraintRules(table, c, `on new column ${name}`))
  return out
}

function constraintRules (table: RangeVar | undefined, c: Constraint, where: string): Rule[] {
  const t = displayName(table)
  switch (c.contype) {
    case 'CONSTR_FOREIGN':
      if (c.skip_validation === true) return []
      return [{
        rule: 'adding-foreign-key-constraint',
        severity: 'high',
        message: `Foreign key${label(c.conname)}${label(where)} on ${t} is validated at once: both ${t} and ${displayName(c.pktable)} are locked against writes (SHARE ROW EXCLUSIVE) while every row is checked.`,
        fix: 'Add the constraint NOT VALID (instant), then ALTER TABLE ... VALIDATE CONSTRAINT in a later migration, which lets reads and writes continue.'
      }]
    case 'CONSTR_CHECK':
      if (c.skip_validation === true) return []
      return [{
        rule: 'constraint-missing-not-valid',
        severity: 'high',
        message: `CHECK constraint${label(c.conname)}${label(where)} on ${t} scans the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes.`,
        fix: 'Add it NOT VALID, then VALIDATE CONSTRAINT in a separate migration (only a SHARE UPDATE EXCLUSIVE lock).'
      }]
    case 'CONSTR_UNIQUE':
    case 'CONSTR_PRIMARY':
      if (c.indexname !== undefined) return []
      return [{
        rule: 'disallowed-unique-constraint',
        severity: 'high',
        message: `${c.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} constraint${label(c.conname)}${label(where)} on ${t} builds its index under an ACCESS EXCLUSIVE lock, blocking reads and writes for the whole build.`,
        fix: `Build the index first with CREATE UNIQUE INDEX CONCURRENTLY (in a -- drawbridge:no-transaction migration), then ADD CONSTRAINT ... ${c.contype === 'CONSTR_PRIMARY' ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX.`
      }]
    default:
      return []
  }
}

export function alterTableRules (table: RangeVar | undefined, cmd: AlterTableCmd): Rule[] {
  const t = displayName(table)
  switch (cmd.subtype) {
    case 'AT_DropColumn':
      return [{
        rule: 'ban-drop-column',
        severity: 'high',
        message: `Dropping column ${t}.${cmd.name ?? '?'} deletes its data, and running code that still reads or writes it starts failing.`,
        fix: 'Stop using the column in a release first (ignore it in the ORM), deploy, then drop it in a later migration after a backup.'
      }]
    case 'AT_AlterColumnType':
      return [{
        rule: 'changing-column-type',
        severity: 'high',
        message: `Changing the type of ${t}.${cmd.name ?? '?'} rewrites the table and its indexes under an ACCESS EXCLUSIVE lock, blocking reads and writes until done.`,
        fix: 'Add a new column of the new type, dual-write and backfill it in batches, switch reads, then drop the old column.'
      }]
    case 'AT_AddColumn':
      return cmd.def !== undefined && 'ColumnDef' in cmd.def ? columnRules(table, cmd.def.ColumnDef) : []
    case 'AT_AddConstraint':
      return cmd.def !== undefined && 'Constraint' in cmd.def ? constraintRules(table, cmd.def.Constraint, '') : []
    case 'AT_SetNotNull':
      return [{
        rule: 'adding-not-nullable-field',
        severity: 'high',
        message: `SET NOT NULL on ${t}.${cmd.name ?? '?'} scans the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes.`,
        fix: `Add CHECK (${cmd.name ?? 'col'} IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it, then SET NOT NULL (PostgreSQL 12+ uses the valid check and skips the scan), and drop the check.`
      }]
    default:
      return []
  }
}
