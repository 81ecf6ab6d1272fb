import type { SqlStatement } from './sql-statements.js'

/**
 * Transaction-control statements in a migration file. Drawbridge runs a file
 * without `-- drawbridge:no-transaction` inside a transaction it opens (and,
 * in a dry run, rolls back): a COMMIT in that file would commit part of it
 * for real, a dry run included, and leave the tracking row outside what was
 * committed. SAVEPOINT, RELEASE and ROLLBACK TO stay inside the transaction
 * and are allowed.
 */
const ENDS_OR_OPENS = new Set([
  'TRANS_STMT_BEGIN', 'TRANS_STMT_START', 'TRANS_STMT_COMMIT', 'TRANS_STMT_ROLLBACK',
  'TRANS_STMT_PREPARE', 'TRANS_STMT_COMMIT_PREPARED', 'TRANS_STMT_ROLLBACK_PREPARED'
])

function kindOf (stmt: SqlStatement): string | null {
  const node = stmt.node as { TransactionStmt?: { kind?: string } } | null
  return node?.TransactionStmt?.kind ?? null
}

/** The first statement that would open or end a transaction, or null. */
export function firstTransactionControl (statements: readonly SqlStatement[]): SqlStatement | null {
  for (const stmt of statements) {
    const kind = kindOf(stmt)
    if (kind !== null && ENDS_OR_OPENS.has(kind)) return stmt
  }
  return null
}

/** Why a file run in a transaction cannot hold this statement (for the run's error). */
export function transactionControlProblem (fileName: string, stmt: SqlStatement): string {
  const words = stmt.text.split(/\s+/, 2).join(' ').toUpperCase()
  return `${fileName} line ${stmt.line}: ${words} would end or nest the transaction Drawbridge runs this migration in ` +
    '(a dry run would commit for real); remove it, or mark the file -- drawbridge:no-transaction to manage transactions yourself'
}

/** In a no-transaction file: does this statement open an explicit block, or end one? */
export function opensBlock (stmt: SqlStatement): boolean {
  const kind = kindOf(stmt)
  return kind === 'TRANS_STMT_BEGIN' || kind === 'TRANS_STMT_START'
}

export function endsBlock (stmt: SqlStatement): boolean {
  const kind = kindOf(stmt)
  return kind === 'TRANS_STMT_COMMIT' || kind === 'TRANS_STMT_ROLLBACK' || kind === 'TRANS_STMT_PREPARE'
}
