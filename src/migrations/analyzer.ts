import { FileState } from './analyzer-state.js'
import { statementRules } from './analyzer-statement-rules.js'
import { endOfFileRules, pairRules, recordLocks } from './analyzer-transactions.js'
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

function clip (text: string): string {
  return text.length <= STATEMENT_MAX ? text : text.slice(0, STATEMENT_MAX - 1) + '…'
}

/**
 * Whether running a statement again after it succeeded is harmless: a
 * no-transaction file that fails part-way runs again from its first statement.
 */
function rerunnable (stmt: SqlStatement): boolean {
  const node = stmt.node
  if (node === null) return true
  if ('IndexStmt' in node) return node.IndexStmt.if_not_exists === true
  if ('CreateStmt' in node) return node.CreateStmt.if_not_exists === true
  if ('DropStmt' in node) return node.DropStmt.missing_ok === true
  if ('AlterTableStmt' in node) {
    return (node.AlterTableStmt.cmds ?? []).every((c) => 'AlterTableCmd' in c && (c.AlterTableCmd.missing_ok === true ||
      ['AT_ValidateConstraint', 'AT_SetNotNull', 'AT_DropNotNull', 'AT_ColumnDefault'].includes(c.AlterTableCmd.subtype ?? '')))
  }
  if ('CreateFunctionStmt' in node) return node.CreateFunctionStmt.replace === true
  if ('CreateTrigStmt' in node) return node.CreateTrigStmt.replace === true
  return !('CreateTableAsStmt' in node || 'ViewStmt' in node || 'CreateSeqStmt' in node || 'CreateSchemaStmt' in node ||
    'RenameStmt' in node || 'CreateEnumStmt' in node || 'CompositeTypeStmt' in node || 'CreateDomainStmt' in node || 'AlterEnumStmt' in node)
}

/**
 * What a statement-by-statement file commits separately: each statement
 * outside a BEGIN ... COMMIT block, and each block as a whole.
 */
function commitUnits (statements: SqlStatement[]): SqlStatement[][] {
  const units: SqlStatement[][] = []
  let block: SqlStatement[] | null = null
  for (const stmt of statements) {
    const kind = stmt.node !== null && 'TransactionStmt' in stmt.node ? stmt.node.TransactionStmt.kind : undefined
    if (kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START') {
      if (block === null) units.push(block = [])
    } else if (kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK') {
      block = null
    } else if (block !== null) block.push(stmt)
    else units.push([stmt])
  }
  return units.filter((u) => u.length > 0)
}

/** Findings for one migration file, in file order. */
export function analyzeStatements (file: Pick<MigrationFile, 'name' | 'directives'>, statements: SqlStatement[]): Finding[] {
  const findings: Finding[] = []
  const state = new FileState(!file.directives.noTransaction)
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
    const rules = statementRules(stmt.node, state, stmt.line)
    const flagged = rules.some((r) => r.severity === 'high')
    // Pairs look at the locks earlier statements left, before this one's are recorded.
    rules.push(...pairRules(stmt.node, state, flagged))
    recordLocks(stmt.node, state, stmt.line, flagged)
    // Outside a transaction block each statement commits, releasing its locks.
    if (!state.tx.open) state.endTransaction()
    for (const rule of rules) findings.push({ migration: file.name, line: stmt.line, statement: clip(stmt.text), ...rule })
  }
  for (const rule of endOfFileRules(state)) {
    const begin = statements.find((s) => s.line === state.tx.beginLine)
    findings.push({ migration: file.name, line: state.tx.beginLine ?? 1, statement: clip(begin?.text ?? 'BEGIN'), ...rule })
  }
  const units = file.directives.noTransaction ? commitUnits(statements) : []
  const second = units[1]?.[0]
  if (second !== undefined && units.slice(0, -1).some((u) => u.some((s) => !rerunnable(s)))) {
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
