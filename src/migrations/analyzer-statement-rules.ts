import type { DropStmt, Node, RangeVar } from 'libpg-query'
import { alterDomainRules, dropObjectRules, enumRules, objectParts, renameRules, sequenceRules, setSchemaRules } from './analyzer-object-rules.js'
import { displayName, hasOption, label, stringsOf, type FileState, type Rule } from './analyzer-state.js'
import { alterTableRules } from './analyzer-table-rules.js'
import { transactionRules } from './analyzer-transactions.js'

/**
 * One statement's own findings, given what the file did before it; records
 * what the statement creates for the statements after it.
 */

/** CREATE INDEX / REINDEX / DROP INDEX ... CONCURRENTLY where a transaction is open: PostgreSQL refuses it. */
function concurrentInTransaction (what: string, state: FileState): Rule[] {
  if (!state.tx.open) return []
  return [{
    rule: 'ban-concurrent-index-creation-in-transaction',
    severity: 'high',
    message: `${what} cannot run inside a transaction block, and this statement runs in one${state.tx.managed ? ' (Drawbridge runs this migration in a transaction)' : ` (opened by the BEGIN at line ${state.tx.beginLine ?? '?'})`}: the migration fails.`,
    fix: 'Put the statement in its own file with -- drawbridge:no-transaction, outside any BEGIN block.'
  }]
}

function existing (state: FileState, rels: Array<RangeVar | undefined>): RangeVar[] {
  return rels.filter((r): r is RangeVar => r !== undefined && !state.isNew(state.qualify(r)))
}

function rangeVars (nodes: Node[] | undefined): RangeVar[] {
  return (nodes ?? []).flatMap((n) => ('RangeVar' in n ? [n.RangeVar] : 'VacuumRelation' in n && n.VacuumRelation.relation !== undefined ? [n.VacuumRelation.relation] : []))
}

function dropRules (stmt: DropStmt, state: FileState): Rule[] {
  const parts = (stmt.objects ?? []).map(objectParts)
  switch (stmt.removeType) {
    case 'OBJECT_TABLE': {
      const old = parts.filter((p) => !state.isNew(state.qualifyList(p))).map((p) => p.join('.'))
      if (old.length === 0) return []
      return [{
        rule: 'ban-drop-table',
        severity: 'high',
        message: `Dropping table ${old.join(', ')} deletes its data, and running code that still uses it starts failing.`,
        fix: 'Stop using the table in a release first, take a backup, then drop it in a later migration (or rename it aside and drop it later).'
      }]
    }
    case 'OBJECT_SCHEMA': {
      const old = parts.map((p) => p.join('.')).filter((n) => !state.schemas.has(n))
      if (old.length === 0) return []
      const cascade = stmt.behavior === 'DROP_CASCADE'
      return [{
        rule: 'ban-drop-schema',
        severity: cascade ? 'high' : 'medium',
        message: cascade
          ? `Dropping schema ${old.join(', ')} with CASCADE deletes every object in it, data included.`
          : `Dropping schema ${old.join(', ')} fails unless it is empty, and breaks running code that still names it.`,
        fix: 'Drop the objects you mean one by one after a backup.'
      }]
    }
    case 'OBJECT_INDEX': {
      if (stmt.concurrent === true) return concurrentInTransaction('DROP INDEX CONCURRENTLY', state)
      const old = parts.filter((p) => !state.isNew(state.qualifyList(p))).map((p) => p.join('.'))
      if (old.length === 0) return []
      return [{
        rule: 'require-concurrent-index-deletion',
        severity: 'medium',
        message: `DROP INDEX ${old.join(', ')} takes an ACCESS EXCLUSIVE lock on the table, queueing every read and write behind it.`,
        fix: 'Use DROP INDEX CONCURRENTLY in a -- drawbridge:no-transaction migration.'
      }]
    }
    default:
      return dropObjectRules(stmt, state)
  }
}

function createRules (node: Node, state: FileState): Rule[] | null {
  if ('CreateStmt' in node) {
    const stmt = node.CreateStmt
    state.relations.add(state.qualify(stmt.relation))
    const parent = stmt.inhRelations?.[0]
    if (stmt.partbound === undefined || parent === undefined || !('RangeVar' in parent) || state.isNew(state.qualify(parent.RangeVar))) return []
    return [{
      rule: 'creating-partition',
      severity: 'medium',
      message: `CREATE TABLE ... PARTITION OF takes an ACCESS EXCLUSIVE lock on ${displayName(parent.RangeVar)}: every read and write of the partitioned table waits for it (and a default partition, if any, is scanned under it).`,
      fix: 'Create the table standalone (CREATE TABLE ... (LIKE parent INCLUDING ALL)), add a CHECK matching the bounds, then ALTER TABLE parent ATTACH PARTITION, which needs only SHARE UPDATE EXCLUSIVE on the parent.'
    }]
  }
  if ('CreateTableAsStmt' in node) state.relations.add(state.qualify(node.CreateTableAsStmt.into?.rel))
  else if ('SelectStmt' in node && node.SelectStmt.intoClause !== undefined) state.relations.add(state.qualify(node.SelectStmt.intoClause.rel))
  else if ('ViewStmt' in node && node.ViewStmt.replace !== true) state.relations.add(state.qualify(node.ViewStmt.view))
  else if ('CreateSeqStmt' in node) state.relations.add(state.qualify(node.CreateSeqStmt.sequence))
  else if ('CreateSchemaStmt' in node) {
    if (node.CreateSchemaStmt.schemaname !== undefined) state.schemas.add(node.CreateSchemaStmt.schemaname)
  } else if ('CompositeTypeStmt' in node) state.types.add(state.qualify(node.CompositeTypeStmt.typevar))
  else if ('CreateEnumStmt' in node) state.types.add(state.qualifyList(stringsOf(node.CreateEnumStmt.typeName)))
  else if ('CreateRangeStmt' in node) state.types.add(state.qualifyList(stringsOf(node.CreateRangeStmt.typeName)))
  else if ('CreateDomainStmt' in node) {
    const stmt = node.CreateDomainStmt
    const name = state.qualifyList(stringsOf(stmt.domainname))
    state.types.add(name)
    const checked = (stmt.constraints ?? []).some((c) => 'Constraint' in c && (c.Constraint.contype === 'CONSTR_CHECK' || c.Constraint.contype === 'CONSTR_NOTNULL'))
    if (!checked) return []
    state.checkedDomains.add(name)
    return [{
      rule: 'ban-create-domain-with-constraint',
      severity: 'low',
      message: `Domain ${stringsOf(stmt.domainname).join('.')} has constraints: adding a column of it later checks every row, and changing its constraints later scans every table that uses it.`,
      fix: 'Prefer a plain domain (or the base type) with CHECK constraints on the table columns.'
    }]
  } else return null
  return []
}

export function statementRules (node: Node, state: FileState, line: number): Rule[] {
  const created = createRules(node, state)
  if (created !== null) return created
  if ('AlterTableStmt' in node) return alterTableRules(node.AlterTableStmt, state, line)
  if ('IndexStmt' in node) {
    const stmt = node.IndexStmt
    const table = state.qualify(stmt.relation)
    if (stmt.concurrent === true) return concurrentInTransaction('CREATE INDEX CONCURRENTLY', state)
    // ON ONLY a partitioned table: an invalid parent index, built by attaching per-partition CONCURRENTLY indexes.
    if (state.isNew(table) || stmt.relation?.inh !== true) {
      if (stmt.idxname !== undefined) state.relations.add(`${table.slice(0, table.lastIndexOf('.'))}.${stmt.idxname}`)
      return []
    }
    return [{
      rule: 'require-concurrent-index-creation',
      severity: 'high',
      message: `CREATE INDEX${label(stmt.idxname)} without CONCURRENTLY blocks every write to ${displayName(stmt.relation)} (SHARE lock) for the whole build.`,
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
  if ('DropOwnedStmt' in node) {
    return [{
      rule: 'ban-drop-object',
      severity: 'high',
      message: 'DROP OWNED BY drops every object the role owns in this database, tables and their data included.',
      fix: 'Reassign ownership (REASSIGN OWNED BY ... TO ...) and drop the objects you mean one by one.'
    }]
  }
  if ('RenameStmt' in node) {
    const stmt = node.RenameStmt
    const rules = renameRules(stmt, state)
    if (stmt.relation !== undefined && stmt.newname !== undefined && state.isNew(state.qualify(stmt.relation))) {
      state.relations.add(state.qualify({ ...stmt.relation, relname: stmt.newname }))
    }
    return rules
  }
  if ('AlterObjectSchemaStmt' in node) return setSchemaRules(node.AlterObjectSchemaStmt, state)
  if ('AlterDomainStmt' in node) return alterDomainRules(node.AlterDomainStmt, state)
  if ('AlterEnumStmt' in node) return enumRules(node.AlterEnumStmt, state, line)
  if ('AlterSeqStmt' in node) return sequenceRules(node.AlterSeqStmt, state)
  if ('TransactionStmt' in node) return transactionRules(node.TransactionStmt, state, line)
  if ('VariableSetStmt' in node && node.VariableSetStmt.name === 'search_path') {
    const first = (node.VariableSetStmt.args ?? []).flatMap((a) => ('A_Const' in a && a.A_Const.sval?.sval !== undefined ? [a.A_Const.sval.sval] : []))
      .find((s) => s !== '$user')
    if (first !== undefined) state.searchSchema = first
    return []
  }
  return dataRules(node, state)
}

/** Statements that delete, rewrite or lock rows and tables wholesale. */
function dataRules (node: Node, state: FileState): Rule[] {
  if ('TruncateStmt' in node) {
    const stmt = node.TruncateStmt
    const old = existing(state, rangeVars(stmt.relations))
    if (old.length === 0) return []
    const cascade = stmt.behavior === 'DROP_CASCADE'
    return [{
      rule: cascade ? 'ban-truncate-cascade' : 'ban-truncate',
      severity: 'high',
      message: `TRUNCATE ${old.map(displayName).join(', ')}${cascade ? ' CASCADE' : ''} deletes every row${cascade ? ', also in every table with a foreign key to it,' : ''} under an ACCESS EXCLUSIVE lock.`,
      fix: 'Delete the rows you mean with a WHERE clause, in batches; take a backup first.'
    }]
  }
  if ('DeleteStmt' in node) {
    const stmt = node.DeleteStmt
    if (stmt.whereClause !== undefined || existing(state, [stmt.relation]).length === 0) return []
    return [{
      rule: 'ban-delete-without-where',
      severity: 'high',
      message: `DELETE FROM ${displayName(stmt.relation)} without WHERE deletes every row and holds its row locks until the migration commits.`,
      fix: 'Add a WHERE clause naming the rows to delete, and delete in batches.'
    }]
  }
  if ('UpdateStmt' in node) {
    const stmt = node.UpdateStmt
    if (stmt.whereClause !== undefined || existing(state, [stmt.relation]).length === 0) return []
    return [{
      rule: 'ban-update-without-where',
      severity: 'high',
      message: `UPDATE ${displayName(stmt.relation)} without WHERE overwrites every row and locks all of them until the migration commits.`,
      fix: 'Backfill in batches (UPDATE ... WHERE id BETWEEN ...), ideally outside the schema migration.'
    }]
  }
  if ('LockStmt' in node) {
    // ROW SHARE .. SHARE UPDATE EXCLUSIVE leave reads and writes alone.
    if ((node.LockStmt.mode ?? 8) < 5 && state.tx.open) return []
    return [{
      rule: 'ban-lock-table',
      severity: 'high',
      message: state.tx.open
        ? 'LOCK TABLE holds an explicit lock until the migration commits, blocking the application for the whole migration.'
        : 'LOCK TABLE only works inside a transaction block, and this statement runs outside one: it fails.',
      fix: 'Rely on the locks each statement takes, keep them short with lock_timeout, and run the change in a maintenance window if it really needs exclusivity.'
    }]
  }
  if ('VacuumStmt' in node && hasOption(node.VacuumStmt.options, 'full')) {
    const rels = rangeVars(node.VacuumStmt.rels)
    if (rels.length > 0 && existing(state, rels).length === 0) return []
    return [{
      // squawk's rule for VACUUM FULL and CLUSTER.
      rule: 'prefer-repack',
      severity: 'high',
      message: 'VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes until done (and cannot run in a transaction).',
      fix: 'Use plain VACUUM, or reclaim space online with pg_repack (REPACK (CONCURRENTLY) on PostgreSQL 19).'
    }]
  }
  if ('ClusterStmt' in node) {
    const rel = node.ClusterStmt.relation
    if (rel !== undefined && existing(state, [rel]).length === 0) return []
    return [{
      rule: 'prefer-repack',
      severity: 'high',
      message: `CLUSTER ${rel !== undefined ? displayName(rel) : '(every clustered table)'} rewrites the table under an ACCESS EXCLUSIVE lock, blocking reads and writes until done.`,
      fix: 'Reorder the table online with pg_repack (REPACK (CONCURRENTLY) ... USING INDEX on PostgreSQL 19).'
    }]
  }
  if ('ReindexStmt' in node) {
    const stmt = node.ReindexStmt
    if (hasOption(stmt.params, 'concurrently')) return concurrentInTransaction('REINDEX CONCURRENTLY', state)
    if (stmt.kind === 'REINDEX_OBJECT_SYSTEM' || (stmt.relation !== undefined && existing(state, [stmt.relation]).length === 0)) return []
    return [{
      rule: 'require-concurrent-reindex',
      severity: 'high',
      message: 'REINDEX without CONCURRENTLY blocks writes to the table, and reads that use the index, until it finishes.',
      fix: 'Use REINDEX ... CONCURRENTLY in a -- drawbridge:no-transaction migration.'
    }]
  }
  if ('AlterTableMoveAllStmt' in node) {
    const stmt = node.AlterTableMoveAllStmt
    const what = stmt.objtype === 'OBJECT_INDEX' ? 'index' : stmt.objtype === 'OBJECT_MATVIEW' ? 'materialized view' : 'table'
    return [{
      rule: 'changing-tablespace',
      severity: 'high',
      message: `Moving every ${what} in tablespace ${stmt.orig_tablespacename ?? '?'} to ${stmt.new_tablespacename ?? '?'} copies each one under an ACCESS EXCLUSIVE lock, blocking its reads and writes until its copy is done.`,
      fix: 'Move data online with pg_repack --tablespace, one object at a time.'
    }]
  }
  if ('RefreshMatViewStmt' in node) {
    const stmt = node.RefreshMatViewStmt
    if (stmt.concurrent === true || existing(state, [stmt.relation]).length === 0) return []
    return [{
      rule: 'require-concurrent-refresh',
      severity: 'high',
      message: `REFRESH MATERIALIZED VIEW ${displayName(stmt.relation)} without CONCURRENTLY holds an ACCESS EXCLUSIVE lock on it for the whole refresh: every read of the view waits.`,
      fix: 'Give the view a unique index and use REFRESH MATERIALIZED VIEW CONCURRENTLY.'
    }]
  }
  return []
}
