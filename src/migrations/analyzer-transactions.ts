import type { A_Const as Constant, Node, RangeVar, TransactionStmt } from 'libpg-query'
import { objectParts } from './analyzer-object-rules.js'
import { collect, displayName, LOCK_NAMES, LockMode, stringsOf, type FileState, type Rule } from './analyzer-state.js'
import { cmdLockMode } from './analyzer-table-rules.js'

/**
 * Statements that are safe one by one and dangerous together. A lock is held
 * until its transaction ends: in a transactional migration every statement
 * keeps the locks of the ones before it, so a brief ACCESS EXCLUSIVE becomes
 * as long as the slowest statement after it. A `-- drawbridge:no-transaction`
 * file commits each statement on its own, unless the file opens a block.
 */

interface Taken { table: string, name: string, mode: LockMode }

/** Table locks a statement takes on tables that existed before this file. */
export function locksTaken (node: Node, state: FileState): Taken[] {
  const out: Taken[] = []
  const add = (rel: RangeVar | undefined, mode: LockMode): void => {
    const table = state.qualify(rel)
    if (rel !== undefined && !state.isNew(table)) out.push({ table, name: displayName(rel), mode })
  }
  if ('AlterTableStmt' in node) {
    const stmt = node.AlterTableStmt
    if (stmt.objtype !== 'OBJECT_TABLE' && stmt.objtype !== 'OBJECT_MATVIEW') return out
    let mode = LockMode.AccessShare
    for (const c of stmt.cmds ?? []) {
      if (!('AlterTableCmd' in c)) continue
      const cmd = c.AlterTableCmd
      mode = Math.max(mode, cmdLockMode(cmd))
      const def = cmd.def
      if (def !== undefined && 'Constraint' in def && def.Constraint.contype === 'CONSTR_FOREIGN') add(def.Constraint.pktable, LockMode.ShareRowExclusive)
      if (def !== undefined && 'PartitionCmd' in def && (cmd.subtype === 'AT_AttachPartition' || def.PartitionCmd.concurrent !== true)) {
        add(def.PartitionCmd.name, LockMode.AccessExclusive)
      }
    }
    add(stmt.relation, mode)
  } else if ('IndexStmt' in node) {
    if (node.IndexStmt.concurrent !== true) add(node.IndexStmt.relation, LockMode.Share)
  } else if ('DropStmt' in node) {
    if (node.DropStmt.removeType === 'OBJECT_TABLE') {
      for (const o of node.DropStmt.objects ?? []) {
        const parts = objectParts(o)
        add({ relname: parts[parts.length - 1], schemaname: parts.length > 1 ? parts[parts.length - 2] : undefined }, LockMode.AccessExclusive)
      }
    }
  } else if ('TruncateStmt' in node) {
    for (const r of node.TruncateStmt.relations ?? []) if ('RangeVar' in r) add(r.RangeVar, LockMode.AccessExclusive)
  } else if ('LockStmt' in node) {
    for (const r of node.LockStmt.relations ?? []) if ('RangeVar' in r) add(r.RangeVar, (node.LockStmt.mode ?? LockMode.AccessExclusive) as LockMode)
  } else if ('RenameStmt' in node) {
    const kind = node.RenameStmt.renameType
    if (kind === 'OBJECT_TABLE' || kind === 'OBJECT_COLUMN' || kind === 'OBJECT_TABCONSTRAINT') add(node.RenameStmt.relation, LockMode.AccessExclusive)
  } else if ('CreateTrigStmt' in node) {
    add(node.CreateTrigStmt.relation, LockMode.ShareRowExclusive)
  } else if ('RuleStmt' in node) {
    add(node.RuleStmt.relation, LockMode.AccessExclusive)
  } else if ('RefreshMatViewStmt' in node) {
    add(node.RefreshMatViewStmt.relation, node.RefreshMatViewStmt.concurrent === true ? LockMode.Exclusive : LockMode.AccessExclusive)
  } else if ('ClusterStmt' in node) {
    add(node.ClusterStmt.relation, LockMode.AccessExclusive)
  } else if ('ReindexStmt' in node && node.ReindexStmt.kind === 'REINDEX_OBJECT_TABLE') {
    add(node.ReindexStmt.relation, LockMode.Share)
  } else if ('CreateStmt' in node && node.CreateStmt.partbound !== undefined) {
    const parent = node.CreateStmt.inhRelations?.[0]
    if (parent !== undefined && 'RangeVar' in parent) add(parent.RangeVar, LockMode.AccessExclusive)
  }
  return out
}

function isConstant (node: Node | undefined): boolean {
  if (node === undefined) return false
  if ('TypeCast' in node) return isConstant(node.TypeCast.arg)
  return 'A_Const' in node || 'ParamRef' in node
}

/**
 * `WHERE key = constant` (or `IN (constants)`, alone or AND-ed with more):
 * a targeted fix of a few rows, not a backfill. Anything else (IS NULL,
 * ranges, joins) may touch most of the table.
 */
function targetsFewRows (where: Node | undefined): boolean {
  if (where === undefined) return false
  if ('BoolExpr' in where) return where.BoolExpr.boolop === 'AND_EXPR' && (where.BoolExpr.args ?? []).some(targetsFewRows)
  if (!('A_Expr' in where)) return false
  const e = where.A_Expr
  const column = (n: Node | undefined): boolean => n !== undefined && 'ColumnRef' in n
  if (e.kind === 'AEXPR_OP' && stringsOf(e.name).join() === '=') {
    return (column(e.lexpr) && isConstant(e.rexpr)) || (column(e.rexpr) && isConstant(e.lexpr))
  }
  if (e.kind === 'AEXPR_IN' && stringsOf(e.name).join() === '=' && column(e.lexpr) && e.rexpr !== undefined && 'List' in e.rexpr) {
    return (e.rexpr.List.items ?? []).every(isConstant)
  }
  return false
}

/** The table a statement fills or changes row by row (a backfill), if any. */
function rowTarget (node: Node): { rel: RangeVar | undefined, verb: string } | null {
  if ('UpdateStmt' in node && node.UpdateStmt.whereClause !== undefined) {
    return targetsFewRows(node.UpdateStmt.whereClause) ? null : { rel: node.UpdateStmt.relation, verb: 'UPDATE' }
  }
  if ('DeleteStmt' in node && node.DeleteStmt.whereClause !== undefined) {
    return targetsFewRows(node.DeleteStmt.whereClause) ? null : { rel: node.DeleteStmt.relation, verb: 'DELETE' }
  }
  if ('InsertStmt' in node && node.InsertStmt.selectStmt !== undefined && 'SelectStmt' in node.InsertStmt.selectStmt &&
    node.InsertStmt.selectStmt.SelectStmt.valuesLists === undefined) return { rel: node.InsertStmt.relation, verb: 'INSERT ... SELECT' }
  if ('MergeStmt' in node) return { rel: node.MergeStmt.relation, verb: 'MERGE' }
  return null
}

function heldLine (state: FileState, table: string, min: LockMode): { line: number, mode: LockMode } | null {
  const held = state.tx.locks.get(table)
  return held !== undefined && held.mode >= min ? held : null
}

/** Rules about this statement given what its transaction already holds. */
export function pairRules (node: Node, state: FileState, flagged: boolean): Rule[] {
  const tx = state.tx
  if (!tx.open) return []
  const out: Rule[] = []
  const target = rowTarget(node)
  if (target !== null) {
    const table = state.qualify(target.rel)
    const held = heldLine(state, table, LockMode.Share)
    if (held !== null) {
      out.push({
        rule: 'long-statement-after-lock',
        severity: 'high',
        message: `${target.verb} on ${displayName(target.rel)} runs in the transaction that took ${LOCK_NAMES[held.mode]} on it at line ${held.line}, held until commit: ${displayName(target.rel)} stays blocked for ${held.mode === LockMode.AccessExclusive ? 'reads and writes' : 'writes'} for the whole backfill.`,
        fix: 'Backfill in a separate migration (or outside schema migrations), in batches, after the schema change has committed.'
      })
    }
  }
  if ('AlterTableStmt' in node) {
    const validates = (node.AlterTableStmt.cmds ?? []).some((c) => 'AlterTableCmd' in c && c.AlterTableCmd.subtype === 'AT_ValidateConstraint' &&
      !tx.notValid.has(`${state.qualify(node.AlterTableStmt.relation)}.${c.AlterTableCmd.name ?? ''}`))
    const blocking = [...tx.locks].filter(([, h]) => h.mode >= LockMode.Share)
    if (validates && blocking.length > 0 && !state.isNew(state.qualify(node.AlterTableStmt.relation))) {
      const [table, held] = blocking[0] as [string, { line: number, mode: LockMode }]
      out.push({
        rule: 'long-statement-after-lock',
        severity: 'high',
        message: `VALIDATE CONSTRAINT scans the whole table while this transaction still holds ${LOCK_NAMES[held.mode]} on ${table} (line ${held.line}): ${table} stays blocked for the whole validation.`,
        fix: 'Validate in a migration of its own, so that it holds nothing but its own SHARE UPDATE EXCLUSIVE lock.'
      })
    }
  }
  const exclusive = locksTaken(node, state).find((l) => l.mode === LockMode.AccessExclusive)
  // Not when either statement is already reported high on its own: its finding says more.
  if (exclusive !== undefined && !flagged && !tx.reported.has('multiple-exclusive-locks')) {
    const other = [...tx.locks].find(([table, h]) => table !== exclusive.table && h.mode === LockMode.AccessExclusive && !h.flagged)
    if (other !== undefined) {
      tx.reported.add('multiple-exclusive-locks')
      out.push({
        rule: 'multiple-exclusive-locks',
        severity: 'medium',
        message: `This transaction already holds ACCESS EXCLUSIVE on ${other[0]} (line ${other[1].line}) and now waits for ACCESS EXCLUSIVE on ${exclusive.name}: every query on ${other[0]} queues for as long as that wait lasts, and a session that locks them in the other order deadlocks with it.`,
        fix: 'Change one table per migration, or order the statements the same way everywhere and keep lock_timeout short.'
      })
    }
  }
  if (tx.enumValues.size > 0 && !('AlterEnumStmt' in node)) {
    const used = collect<Constant>(node, 'A_Const').map((c) => c.sval?.sval).find((v) => v !== undefined && tx.enumValues.has(v))
    if (used !== undefined) {
      out.push({
        rule: 'enum-value-used-in-same-transaction',
        severity: 'high',
        message: `'${used}' was added to its enum at line ${tx.enumValues.get(used) ?? '?'} in this same transaction; PostgreSQL refuses to use a new enum value before it commits ("unsafe use of new value"), so the migration fails.`,
        fix: 'Add the enum value in its own migration, and use it in a later one.'
      })
    }
  }
  return out
}

/** Records the locks a statement took; an autocommitted statement releases them at once. */
export function recordLocks (node: Node, state: FileState, line: number, flagged: boolean): void {
  if (!state.tx.open) return
  for (const l of locksTaken(node, state)) {
    const held = state.tx.locks.get(l.table)
    if (held === undefined || held.mode < l.mode) state.tx.locks.set(l.table, { mode: l.mode, line, flagged })
  }
}

export function transactionRules (stmt: TransactionStmt, state: FileState, line: number): Rule[] {
  const tx = state.tx
  switch (stmt.kind) {
    case 'TRANS_STMT_BEGIN':
    case 'TRANS_STMT_START': {
      if (!tx.open) {
        tx.open = true
        tx.beginLine = line
        return []
      }
      return [{
        rule: 'transaction-nesting',
        severity: 'medium',
        message: tx.managed
          ? 'Drawbridge already runs this migration in its own transaction: this BEGIN only draws a warning, and the COMMIT that usually follows ends Drawbridge\'s transaction early.'
          : `A transaction is already open since the BEGIN at line ${tx.beginLine ?? '?'}: this BEGIN only draws a warning, and the first COMMIT ends both.`,
        fix: tx.managed
          ? 'Remove BEGIN/COMMIT from the file; use -- drawbridge:no-transaction when statements must run outside a transaction.'
          : 'Close the first block with COMMIT before opening another.'
      }]
    }
    case 'TRANS_STMT_COMMIT':
    case 'TRANS_STMT_ROLLBACK':
    case 'TRANS_STMT_PREPARE': {
      const verb = stmt.kind === 'TRANS_STMT_COMMIT' ? 'COMMIT' : stmt.kind === 'TRANS_STMT_ROLLBACK' ? 'ROLLBACK' : 'PREPARE TRANSACTION'
      const wasManaged = tx.managed
      const wasOpen = tx.open
      state.endTransaction()
      if (stmt.chain !== true) {
        tx.open = false
        tx.managed = false
        tx.beginLine = null
      }
      if (wasOpen && !wasManaged) return []
      if (!wasOpen) {
        return [{
          rule: 'transaction-nesting',
          severity: 'low',
          message: `No transaction is open here (this file runs statement by statement): ${verb} only draws a warning.`,
          fix: `Remove the ${verb}, or BEGIN a block before the statements it should end.`
        }]
      }
      return [{
        rule: 'transaction-nesting',
        severity: 'medium',
        message: `${verb} ends the transaction Drawbridge opened for this migration${verb === 'ROLLBACK' ? ', undoing the statements before it' : ''}: the statements after it run one by one with nothing to roll back if a later one fails, the migration is recorded as applied outside its own transaction, and a dry run or rehearsal ${verb === 'ROLLBACK' ? 'no longer matches a real run' : 'commits for real'}.`,
        fix: 'Remove transaction control from the file, split it into several migrations, or mark it -- drawbridge:no-transaction and manage the blocks yourself.'
      }]
    }
    case 'TRANS_STMT_SAVEPOINT':
    case 'TRANS_STMT_RELEASE':
    case 'TRANS_STMT_ROLLBACK_TO':
      if (tx.open) return []
      return [{
        rule: 'transaction-nesting',
        severity: 'medium',
        message: 'Savepoints only exist inside a transaction block, and this statement runs outside one: it fails.',
        fix: 'BEGIN a block first, or remove the savepoint.'
      }]
    default:
      return []
  }
}

/** An explicit block still open at the end of a statement-by-statement file. */
export function endOfFileRules (state: FileState): Rule[] {
  if (state.transactional || !state.tx.open || state.tx.beginLine === null) return []
  return [{
    rule: 'ban-uncommitted-transaction',
    severity: 'high',
    message: `The transaction opened by BEGIN at line ${state.tx.beginLine} is never committed: the statements after it, and Drawbridge's record of the migration, are rolled back when the connection closes, so the migration looks applied but is not.`,
    fix: 'Add COMMIT at the end of the block.'
  }]
}
