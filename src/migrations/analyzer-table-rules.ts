import type { AlterTableCmd, AlterTableStmt, Constraint } from 'libpg-query'
import { typeRefOf } from './analyzer-column-types.js'
import { checkedColumns, columnRules, constraintRules, notNullCheckColumn, typeChangeRules } from './analyzer-columns.js'
import { displayName, LockMode, type FileState, type Rule } from './analyzer-state.js'

/**
 * ALTER TABLE (and ALTER MATERIALIZED VIEW / INDEX / TYPE, which share its
 * parse tree), subcommand by subcommand, with the lock level and rewrite rule
 * of each (PostgreSQL's ALTER TABLE reference, "Notes"). Walking a statement
 * also records what it declares for later statements of the file.
 */

/** The lock one subcommand takes on its table (ACCESS EXCLUSIVE unless the docs say otherwise). */
export function cmdLockMode (cmd: AlterTableCmd): LockMode {
  switch (cmd.subtype) {
    case 'AT_ValidateConstraint': case 'AT_SetStatistics': case 'AT_SetOptions': case 'AT_ResetOptions':
    case 'AT_ClusterOn': case 'AT_DropCluster': case 'AT_SetRelOptions': case 'AT_ResetRelOptions': case 'AT_ReplaceRelOptions':
    case 'AT_AttachPartition': case 'AT_DetachPartitionFinalize':
      return LockMode.ShareUpdateExclusive
    case 'AT_DetachPartition':
      return cmd.def !== undefined && 'PartitionCmd' in cmd.def && cmd.def.PartitionCmd.concurrent === true ? LockMode.ShareUpdateExclusive : LockMode.AccessExclusive
    case 'AT_EnableTrig': case 'AT_EnableAlwaysTrig': case 'AT_EnableReplicaTrig': case 'AT_EnableTrigAll': case 'AT_EnableTrigUser':
    case 'AT_DisableTrig': case 'AT_DisableTrigAll': case 'AT_DisableTrigUser':
      return LockMode.ShareRowExclusive
    case 'AT_AddConstraint': {
      const c = cmd.def !== undefined && 'Constraint' in cmd.def ? cmd.def.Constraint : undefined
      return c?.contype === 'CONSTR_FOREIGN' ? LockMode.ShareRowExclusive : LockMode.AccessExclusive
    }
    default:
      return LockMode.AccessExclusive
  }
}

function constraintOf (cmd: AlterTableCmd): Constraint | undefined {
  return cmd.def !== undefined && 'Constraint' in cmd.def ? cmd.def.Constraint : undefined
}

/** Remembers what an ADD CONSTRAINT / VALIDATE CONSTRAINT establishes. */
function recordConstraint (table: string, cmd: AlterTableCmd, state: FileState, line: number): void {
  if (cmd.subtype === 'AT_ValidateConstraint') {
    const column = state.notNullChecks.get(`${table}.${cmd.name ?? ''}`)
    if (column !== undefined) state.provenNotNull.add(`${table}.${column}`)
    else state.validatedElsewhere.add(table)
    state.validChecks.add(table)
    return
  }
  const c = constraintOf(cmd)
  if (cmd.subtype !== 'AT_AddConstraint' || c === undefined) return
  if (c.skip_validation === true && c.conname !== undefined) state.tx.notValid.set(`${table}.${c.conname}`, line)
  if (c.contype !== 'CONSTR_CHECK') return
  for (const col of checkedColumns(c)) state.checkedColumns.add(`${table}.${col}`)
  const column = notNullCheckColumn(c)
  if (column !== null && c.conname !== undefined) state.notNullChecks.set(`${table}.${c.conname}`, column)
  if (c.skip_validation !== true) {
    state.validChecks.add(table)
    if (column !== null) state.provenNotNull.add(`${table}.${column}`)
  }
}

function tableCmdRules (t: string, table: string, cmd: AlterTableCmd, state: FileState): Rule[] {
  switch (cmd.subtype) {
    case 'AT_DropColumn':
      return [{
        rule: 'ban-drop-column',
        severity: 'high',
        message: `Dropping column ${t}.${cmd.name ?? '?'} deletes its data, and running code that still reads or writes it starts failing.`,
        fix: 'Stop using the column in a release first (ignore it in the ORM), deploy, then drop it in a later migration after a backup.'
      }]
    case 'AT_AlterColumnType':
      return typeChangeRules(t, table, cmd, state)
    case 'AT_AddColumn': {
      if (cmd.def === undefined || !('ColumnDef' in cmd.def)) return []
      const col = cmd.def.ColumnDef
      state.columns.set(`${table}.${col.colname ?? '?'}`, typeRefOf(col.typeName))
      return columnRules(t, table, col, state)
    }
    case 'AT_AddConstraint': {
      const c = constraintOf(cmd)
      return c === undefined ? [] : constraintRules(t, c, '')
    }
    case 'AT_ValidateConstraint': {
      const addedAt = state.tx.notValid.get(`${table}.${cmd.name ?? ''}`)
      if (addedAt === undefined) return []
      return [{
        rule: 'constraint-missing-not-valid',
        severity: 'high',
        message: `VALIDATE CONSTRAINT ${cmd.name ?? '?'} runs in the same transaction as the ADD CONSTRAINT ... NOT VALID at line ${addedAt}, which still holds its lock on ${t} (ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE on both tables for a foreign key) while every row is checked.`,
        fix: 'Validate in a separate migration (or in a -- drawbridge:no-transaction migration, where each statement commits on its own).'
      }]
    }
    case 'AT_SetNotNull': {
      const col = cmd.name ?? '?'
      if (state.provenNotNull.has(`${table}.${col}`) || state.validatedElsewhere.has(table)) return []
      return [{
        rule: 'adding-not-nullable-field',
        severity: 'high',
        message: `SET NOT NULL on ${t}.${col} scans the whole table under an ACCESS EXCLUSIVE lock, blocking reads and writes.`,
        fix: `Add CHECK (${col} IS NOT NULL) NOT VALID, VALIDATE CONSTRAINT it in a later migration, then SET NOT NULL (PostgreSQL 12+ uses the valid check and skips the scan), and drop the check.`
      }]
    }
    case 'AT_DropNotNull':
      return [{
        rule: 'ban-drop-not-null',
        severity: 'low',
        message: `Dropping NOT NULL on ${t}.${cmd.name ?? '?'} is instant, but code that assumes the column is always set may break once NULLs appear.`,
        fix: 'Make sure every reader copes with NULL before new code writes it.'
      }]
    case 'AT_SetLogged':
    case 'AT_SetUnLogged':
      return [{
        rule: 'changing-table-persistence',
        severity: 'high',
        message: `SET ${cmd.subtype === 'AT_SetLogged' ? 'LOGGED' : 'UNLOGGED'} rewrites ${t} (and its indexes) under an ACCESS EXCLUSIVE lock, blocking reads and writes until done${cmd.subtype === 'AT_SetLogged' ? ', and writes the whole table to the WAL' : ''}.`,
        fix: 'Create the new table with the persistence you want, copy the data in batches, and swap names in a short migration.'
      }]
    case 'AT_SetExpression':
      return [{
        rule: 'changing-generated-expression',
        severity: 'high',
        message: `SET EXPRESSION on ${t}.${cmd.name ?? '?'} recomputes the stored generated column for every row, rewriting the table under an ACCESS EXCLUSIVE lock.`,
        fix: 'Add a new generated column (VIRTUAL on PostgreSQL 18), switch reads to it, then drop the old one.'
      }]
    case 'AT_AttachPartition':
      return attachRules(t, cmd, state)
    case 'AT_DetachPartition': {
      const part = cmd.def !== undefined && 'PartitionCmd' in cmd.def ? cmd.def.PartitionCmd : undefined
      if (part?.concurrent === true) {
        if (!state.tx.open) return []
        return [{
          rule: 'ban-concurrent-detach-in-transaction',
          severity: 'high',
          message: 'DETACH PARTITION ... CONCURRENTLY cannot run inside a transaction block, and this statement runs in one: the migration fails.',
          fix: 'Put it in its own migration marked -- drawbridge:no-transaction.'
        }]
      }
      return [{
        rule: 'require-concurrent-partition-detach',
        severity: 'medium',
        message: `DETACH PARTITION ${displayName(part?.name)} takes an ACCESS EXCLUSIVE lock on the partitioned table ${t}: every read and write of every partition waits for it, and queues behind any running query.`,
        fix: 'Use DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+) in a -- drawbridge:no-transaction migration.'
      }]
    }
    default:
      return []
  }
}

function attachRules (t: string, cmd: AlterTableCmd, state: FileState): Rule[] {
  const part = cmd.def !== undefined && 'PartitionCmd' in cmd.def ? cmd.def.PartitionCmd.name : undefined
  const key = state.qualify(part)
  if (state.isNew(key) || state.validChecks.has(key)) return []
  return [{
    rule: 'attaching-partition',
    severity: 'medium',
    message: `ATTACH PARTITION ${displayName(part)} scans the whole table to prove every row fits the partition bounds while holding ACCESS EXCLUSIVE on it (and on ${t}'s default partition, if any, which is scanned too).`,
    fix: 'First add a CHECK constraint matching the bounds (NOT VALID, then VALIDATE in another migration); ATTACH then skips the scan. Drop the check afterwards.'
  }]
}

function storageRules (what: string, t: string, cmd: AlterTableCmd): Rule[] {
  if (cmd.subtype === 'AT_SetTableSpace') {
    return [{
      rule: 'changing-tablespace',
      severity: 'high',
      message: `SET TABLESPACE copies ${what} ${t} file by file under an ACCESS EXCLUSIVE lock, blocking reads and writes until the copy is done.`,
      fix: 'Move data online with pg_repack --tablespace, or create a new object in the tablespace and switch to it.'
    }]
  }
  if (cmd.subtype === 'AT_SetAccessMethod') {
    return [{
      rule: 'changing-table-access-method',
      severity: 'high',
      message: `SET ACCESS METHOD rewrites ${what} ${t} under an ACCESS EXCLUSIVE lock, blocking reads and writes until done.`,
      fix: 'Create a new table with the access method, copy the data in batches, and swap names in a short migration.'
    }]
  }
  return []
}

function typeAttributeRules (t: string, cmd: AlterTableCmd): Rule[] {
  if (cmd.subtype === 'AT_DropColumn') {
    return [{
      rule: 'ban-drop-column',
      severity: 'high',
      message: `Dropping attribute ${cmd.name ?? '?'} of composite type ${t} deletes that field from every stored value of the type, in every table that uses it.`,
      fix: 'Stop using the attribute first, back up, then drop it in a later migration.'
    }]
  }
  if (cmd.subtype === 'AT_AlterColumnType') {
    return [{
      rule: 'changing-column-type',
      severity: 'high',
      message: `Changing the type of attribute ${cmd.name ?? '?'} of composite type ${t} fails while any table column uses the type, and with CASCADE rewrites every typed table under an ACCESS EXCLUSIVE lock.`,
      fix: 'Create a new type and migrate the columns to it one by one (add, backfill, switch).'
    }]
  }
  return []
}

/** Rules for one ALTER TABLE-shaped statement; records what it declares. */
export function alterTableRules (stmt: AlterTableStmt, state: FileState, line: number): Rule[] {
  const table = state.qualify(stmt.relation)
  const t = displayName(stmt.relation)
  const fresh = state.isNew(table)
  const out: Rule[] = []
  for (const c of stmt.cmds ?? []) {
    if (!('AlterTableCmd' in c)) continue
    const cmd = c.AlterTableCmd
    switch (stmt.objtype) {
      case 'OBJECT_TABLE':
        if (!fresh) out.push(...tableCmdRules(t, table, cmd, state))
        else if (cmd.subtype === 'AT_AddColumn' || cmd.subtype === 'AT_AlterColumnType') tableCmdRules(t, table, cmd, state)
        recordConstraint(table, cmd, state, line)
        break
      case 'OBJECT_MATVIEW':
        if (!fresh) out.push(...storageRules('materialized view', t, cmd))
        break
      case 'OBJECT_INDEX':
        if (!fresh) out.push(...storageRules('index', t, cmd))
        break
      case 'OBJECT_TYPE':
        if (!state.isNewType(table)) out.push(...typeAttributeRules(t, cmd))
        break
      default:
        break
    }
    if (stmt.objtype === 'OBJECT_TABLE' && !fresh) out.push(...storageRules('table', t, cmd))
  }
  return out
}
