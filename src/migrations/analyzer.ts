import type { Node } from 'libpg-query'
import { alterTableRules, displayName, hasOption, isNew, label, stringsOf, tableKey, type FileState, type Rule } from './analyzer-table-rules.js'
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

const STATEMENT_MAX = 500

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
