import type { AlterTableCmd, ColumnDef, Constraint, Node, RangeVar } from 'libpg-query'
import type { MigrationFile } from './migration-files.js'
import { loadParser, splitStatements, type SqlStatement } from './sql-statements.js'

/** `high`: the statement can lose data or block the table for its whole duration. */
export type Severity = 'high' | 'medium' | 'low'

export interface Finding {
  migration: string
  /** squawk's rule name where squawk has the rule. */
  rule: string
  severity: Severity
  /** 1-based line of the statement's start in the file. */
  line: number
  statement: string
  message: string
  fix: string
}

type Rule = Omit<Finding, 'migration' | 'line' | 'statement'>

const STATEMENT_MAX = 500

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
interface FileState {
  /** Tables created earlier in this same file: empty, nobody uses them yet. */
  created: Set<string>
  transactional: boolean
}

function tableKey (rel: RangeVar | undefined): string {
  return rel?.relname ?? ''
}

function displayName (rel: RangeVar | undefined): string {
  if (rel === undefined) return '?'
  return rel.schemaname !== undefined ? `${rel.schemaname}.${rel.relname ?? '?'}` : (rel.relname ?? '?')
}

/** ' name' or '' — for optional names inside messages. */
function label (name: string | undefined): string {
  return name === undefined || name === '' ? '' : ` ${name}`
}

function isNew (state: FileState, rel: RangeVar | undefined): boolean {
  return state.created.has(tableKey(rel))
}

function stringsOf (nodes: Node[] | undefined): string[] {
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

function hasOption (options: Node[] | undefined, name: string): boolean {
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

function alterTableRules (table: RangeVar | undefined, cmd: AlterTableCmd): Rule[] {
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

function statementRules (node: Node, state: FileState): Rule[] {
  if ('CreateStmt' in node) {
    state.created.add(tableKey(node.CreateStmt.relation))
    return []
  }
  if ('CreateTableAsStmt' in node) {
    state.created.add(tableKey(node.CreateTableAsStmt.into?.rel))
    return []
  }
  if ('AlterTableStmt' in node) {
    const stmt = node.AlterTableStmt
    if (stmt.objtype !== 'OBJECT_TABLE' || isNew(state, stmt.relation)) return []
    return (stmt.cmds ?? []).flatMap((c) => ('AlterTableCmd' in c ? alterTableRules(stmt.relation, c.AlterTableCmd) : []))
  }
  if ('IndexStmt' in node) {
    const stmt = node.IndexStmt
    const t = displayName(stmt.relation)
    if (stmt.concurrent === true) return state.transactional ? [concurrentInTransaction('CREATE INDEX CONCURRENTLY')] : []
    if (isNew(state, stmt.relation)) return []
    return [{
      rule: 'require-concurrent-index-creation',
      severity: 'high',
      message: `CREATE INDEX${label(stmt.idxname)} without CONCURRENTLY blocks every write to ${t} (SHARE lock) for the whole build.`,
      fix: 'Use CREATE INDEX CONCURRENTLY in its own migration marked -- drawbridge:no-transaction.'
    }]
  }
  if ('DropStmt' in node) return dropRules(node.DropStmt, state)
  if ('DropdbStmt' in node) {
    return [{
      rule: 'ban-drop-database',
      severity: 'high',
      message: `Dropping database ${node.DropdbStmt.dbname ?? '?'} deletes all of its data.`,
      fix: 'Never drop a database from an application migration.'
    }]
  }
  if ('RenameStmt' in node) {
    const stmt = node.RenameStmt
    if (isNew(state, stmt.relation)) return []
    if (stmt.renameType === 'OBJECT_COLUMN') {
      return [{
        rule: 'renaming-column',
        severity: 'medium',
        message: `Renaming ${displayName(stmt.relation)}.${stmt.subname ?? '?'} to ${stmt.newname ?? '?'} breaks every running instance of the old code that uses the old name.`,
        fix: 'Add the new column, write to both, backfill, move reads, then drop the old one; or gate the new code behind a flag activated by this migration.'
      }]
    }
    if (stmt.renameType === 'OBJECT_TABLE') {
      return [{
        rule: 'renaming-table',
        severity: 'medium',
        message: `Renaming table ${displayName(stmt.relation)} to ${stmt.newname ?? '?'} breaks every running instance of the old code that uses the old name.`,
        fix: 'Create the new table (or a view with the old name over it), migrate code, then drop the old name later.'
      }]
    }
    return []
  }
  if ('TruncateStmt' in node) {
    const stmt = node.TruncateStmt
    const names = (stmt.relations ?? []).flatMap((r) => ('RangeVar' in r ? [displayName(r.RangeVar)] : [])).join(', ')
    const cascade = stmt.behavior === 'DROP_CASCADE'
    return [{
      rule: cascade ? 'ban-truncate-cascade' : 'ban-truncate',
      severity: 'high',
      message: `TRUNCATE ${names}${cascade ? ' CASCADE' : ''} deletes every row${cascade ? ', also in every table with a foreign key to it,' : ''} under an ACCESS EXCLUSIVE lock.`,
      fix: 'Delete the rows you mean with a WHERE clause, in batches; take a backup first.'
    }]
  }
  if ('DeleteStmt' in node) {
    const stmt = node.DeleteStmt
    if (stmt.whereClause !== undefined || isNew(state, stmt.relation)) return []
    return [{
      rule: 'ban-delete-without-where',
      severity: 'high',
      message: `DELETE FROM ${displayName(stmt.relation)} without WHERE deletes every row and holds its row locks until the migration commits.`,
      fix: 'Add a WHERE clause naming the rows to delete, and delete in batches.'
    }]
  }
  if ('UpdateStmt' in node) {
    const stmt = node.UpdateStmt
    if (stmt.whereClause !== undefined || isNew(state, stmt.relation)) return []
    return [{
      rule: 'ban-update-without-where',
      severity: 'high',
      message: `UPDATE ${displayName(stmt.relation)} without WHERE overwrites every row and locks all of them until the migration commits.`,
      fix: 'Backfill in batches (UPDATE ... WHERE id BETWEEN ...), ideally outside the schema migration.'
    }]
  }
  if ('LockStmt' in node) {
    return [{
      rule: 'ban-lock-table',
      severity: 'high',
      message: 'LOCK TABLE holds an explicit lock until the migration commits, blocking the application for the whole migration.',
      fix: 'Rely on the locks each statement takes, keep them short with lock_timeout, and run the change in a maintenance window if it really needs exclusivity.'
    }]
  }
  if ('VacuumStmt' in node && hasOption(node.VacuumStmt.options, 'full')) {
    return [{
      rule: 'ban-vacuum-full',
      severity: 'high',
      message: 'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes until done (and cannot run in a transaction).',
      fix: 'Use plain VACUUM, or pg_repack to reclaim space online.'
    }]
  }
  if ('ClusterStmt' in node) {
    return [{
      rule: 'ban-cluster',
      severity: 'high',
      message: `CLUSTER ${displayName(node.ClusterStmt.relation)} rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes until done.`,
      fix: 'Use pg_repack to reorder the table online.'
    }]
  }
  if ('ReindexStmt' in node) {
    const concurrent = hasOption(node.ReindexStmt.params, 'concurrently')
    if (concurrent) return state.transactional ? [concurrentInTransaction('REINDEX CONCURRENTLY')] : []
    return [{
      rule: 'require-concurrent-reindex',
      severity: 'high',
      message: 'REINDEX without CONCURRENTLY blocks writes to the table, and reads that use the index, until it finishes.',
      fix: 'Use REINDEX ... CONCURRENTLY in a -- drawbridge:no-transaction migration.'
    }]
  }
  if ('TransactionStmt' in node) {
    return [{
      rule: 'transaction-nesting',
      severity: 'medium',
      message: 'Drawbridge already runs each migration in its own transaction; a BEGIN/COMMIT/ROLLBACK inside the file breaks that (partial commits, no rollback on failure).',
      fix: 'Remove transaction control statements; use -- drawbridge:no-transaction when a statement must run outside a transaction.'
    }]
  }
  return []
}

function dropRules (stmt: NonNullable<Extract<Node, { DropStmt: unknown }>['DropStmt']>, state: FileState): Rule[] {
  const names = (stmt.objects ?? []).map((o) => ('List' in o ? stringsOf(o.List.items).join('.') : '?'))
  switch (stmt.removeType) {
    case 'OBJECT_TABLE': {
      const old = names.filter((n) => !state.created.has(n.split('.').pop() ?? n))
      if (old.length === 0) return []
      return [{
        rule: 'ban-drop-table',
        severity: 'high',
        message: `Dropping table ${old.join(', ')} deletes its data, and running code that still uses it starts failing.`,
        fix: 'Stop using the table in a release first, take a backup, then drop it in a later migration (or rename it aside and drop it later).'
      }]
    }
    case 'OBJECT_SCHEMA':
      return [{
        rule: 'ban-drop-schema',
        severity: 'high',
        message: `Dropping schema ${names.join(', ')} deletes every object in it.`,
        fix: 'Drop the objects you mean one by one after a backup.'
      }]
    case 'OBJECT_INDEX':
      if (stmt.concurrent === true) return state.transactional ? [concurrentInTransaction('DROP INDEX CONCURRENTLY')] : []
      return [{
        rule: 'require-concurrent-index-deletion',
        severity: 'medium',
        message: `DROP INDEX ${names.join(', ')} takes an ACCESS EXCLUSIVE lock on the table, queueing every read and write behind it.`,
        fix: 'Use DROP INDEX CONCURRENTLY in a -- drawbridge:no-transaction migration.'
      }]
    default:
      return []
  }
}

function concurrentInTransaction (what: string): Rule {
  return {
    rule: 'ban-concurrent-index-creation-in-transaction',
    severity: 'medium',
    message: `${what} cannot run inside a transaction, and this migration runs in one: it will fail.`,
    fix: 'Put the statement in its own file with -- drawbridge:no-transaction.'
  }
}

function clip (text: string): string {
  return text.length <= STATEMENT_MAX ? text : text.slice(0, STATEMENT_MAX - 1) + '…'
}

/** Findings for one migration file, in file order. */
export function analyzeStatements (file: Pick<MigrationFile, 'name' | 'directives'>, statements: SqlStatement[]): Finding[] {
  const findings: Finding[] = []
  const state: FileState = { created: new Set(), transactional: !file.directives.noTransaction }
  for (const u of file.directives.unknown) {
    findings.push({
      migration: file.name,
      rule: 'unknown-directive',
      severity: 'medium',
      line: u.line,
      statement: u.text,
      message: `Unknown directive "${u.text}": it is ignored.`,
      fix: 'Use -- drawbridge:maintenance, -- drawbridge:no-transaction or -- drawbridge:activates <flag-key>.'
    })
  }
  for (const stmt of statements) {
    if (stmt.node === null) {
      findings.push({
        migration: file.name,
        rule: 'syntax-error',
        severity: 'high',
        line: stmt.errorLine ?? stmt.line,
        statement: clip(stmt.text),
        message: `PostgreSQL cannot parse this statement: ${stmt.error ?? 'syntax error'}.`,
        fix: 'Fix the SQL; the migration would fail when run.'
      })
      continue
    }
    for (const rule of statementRules(stmt.node, state)) {
      findings.push({ migration: file.name, line: stmt.line, statement: clip(stmt.text), ...rule })
    }
  }
  if (file.directives.noTransaction && statements.length > 1) {
    const second = statements[1] as SqlStatement
    findings.push({
      migration: file.name,
      rule: 'no-transaction-multiple-statements',
      severity: 'low',
      line: second.line,
      statement: clip(second.text),
      message: 'This no-transaction migration has several statements: if a later one fails, the earlier ones stay applied and run again on the next attempt.',
      fix: 'Keep one statement per -- drawbridge:no-transaction file, or make each statement idempotent (IF NOT EXISTS).'
    })
  }
  return findings
}

/** Parses and analyzes a file. */
export async function analyzeMigration (file: Pick<MigrationFile, 'name' | 'sql' | 'directives'>): Promise<Finding[]> {
  await loadParser()
  return analyzeStatements(file, splitStatements(file.sql))
}
