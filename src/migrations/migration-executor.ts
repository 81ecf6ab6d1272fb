import type pg from 'pg'
import type { MigrationFile } from './migration-files.js'
import type { SqlStatement } from './sql-statements.js'
import { quoteIdent } from './migration-db.js'
import { endsBlock, firstTransactionControl, opensBlock, transactionControlProblem } from './transaction-control.js'

/** SQLSTATE lock_not_available: the statement waited lock_timeout for its lock. */
export const LOCK_NOT_AVAILABLE = '55P03'

export interface ExecuteOptions {
  lockRetries: number
  /** Base of the exponential backoff between retries (tests shorten it). */
  backoffMs: number
}

export interface ExecuteHooks {
  log (level: 'info' | 'warn' | 'error', msg: string): void
  attempt (n: number): void
  /**
   * Wraps each statement's execution (default: runDirectly). A rehearsal
   * measures here: the statement's duration, the locks it holds, whether it
   * rewrote a table. It must call `execute` once and let its error through.
   */
  statement?: (stmt: SqlStatement, execute: () => Promise<unknown>) => Promise<void>
}

/** The default statement hook: nothing around the statement. */
export async function runDirectly (_stmt: SqlStatement, execute: () => Promise<unknown>): Promise<void> {
  await execute()
}

/** Why a migration failed, with the file line of the failing statement. */
export class MigrationFailure extends Error {
  constructor (message: string, readonly sqlstate: string | null, readonly line: number | null) {
    super(message)
    this.name = 'MigrationFailure'
  }
}

function isLockTimeout (err: unknown): boolean {
  return (err as { sqlstate?: string, code?: string }).sqlstate === LOCK_NOT_AVAILABLE ||
    (err as { code?: string }).code === LOCK_NOT_AVAILABLE
}

function failureAt (err: unknown, file: MigrationFile, stmt: SqlStatement): MigrationFailure {
  const e = err as { message?: string, code?: string, position?: string }
  let line = stmt.line
  const position = Number(e.position)
  if (Number.isInteger(position) && position > 0) line += (stmt.text.slice(0, position - 1).match(/\n/g) ?? []).length
  const sqlstate = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : null
  return new MigrationFailure(`${file.name} line ${line}: ${e.message ?? String(err)}${sqlstate === null ? '' : ` (SQLSTATE ${sqlstate})`}`, sqlstate, line)
}

function backoff (attempt: number, baseMs: number): Promise<void> {
  const ms = Math.min(10_000, baseMs * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4)
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A file run in a transaction must not open or end one itself (see transaction-control.ts): refused before anything runs. */
export function assertTransactional (file: MigrationFile, statements: SqlStatement[]): void {
  const control = firstTransactionControl(statements)
  if (control !== null) throw new MigrationFailure(transactionControlProblem(file.name, control), null, control.line)
}

async function runStatements (client: pg.Client, file: MigrationFile, statements: SqlStatement[], hooks: ExecuteHooks): Promise<void> {
  const around = hooks.statement ?? runDirectly
  for (const stmt of statements) {
    try {
      await around(stmt, async () => await client.query(stmt.text))
    } catch (err) {
      throw failureAt(err, file, stmt)
    }
  }
}

/**
 * One migration in its own transaction, the tracking row written in that same
 * transaction (applied and recorded, or neither). A statement that hits
 * lock_timeout aborts the transaction; the whole migration is then retried
 * from the start after a backoff, which is safe because nothing of it stayed.
 */
export async function applyInTransaction (
  client: pg.Client, file: MigrationFile, statements: SqlStatement[],
  record: (client: pg.Client) => Promise<void>, opts: ExecuteOptions, hooks: ExecuteHooks
): Promise<void> {
  assertTransactional(file, statements)
  for (let attempt = 1; ; attempt++) {
    hooks.attempt(attempt)
    await client.query('BEGIN')
    try {
      await runStatements(client, file, statements, hooks)
      await record(client)
      await client.query('COMMIT')
      return
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      if (isLockTimeout(err) && attempt <= opts.lockRetries) {
        hooks.log('warn', `${file.name}: lock_timeout hit (${(err as Error).message}); rolled back, retry ${attempt}/${opts.lockRetries}`)
        await backoff(attempt, opts.backoffMs)
        continue
      }
      if (err instanceof MigrationFailure) throw err
      throw new MigrationFailure(`${file.name}: ${(err as Error).message}`, (err as { code?: string }).code ?? null, null)
    }
  }
}

/**
 * Dry run: inside the caller's open transaction, under a savepoint released on
 * success (so later migrations see earlier ones) and rolled back with
 * everything else at the end.
 */
export async function applyDryRun (
  client: pg.Client, file: MigrationFile, statements: SqlStatement[], opts: ExecuteOptions, hooks: ExecuteHooks
): Promise<void> {
  assertTransactional(file, statements)
  for (let attempt = 1; ; attempt++) {
    hooks.attempt(attempt)
    await client.query('SAVEPOINT drawbridge_dry_run')
    try {
      await runStatements(client, file, statements, hooks)
      await client.query('RELEASE SAVEPOINT drawbridge_dry_run')
      return
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT drawbridge_dry_run').catch(() => {})
      if (isLockTimeout(err) && attempt <= opts.lockRetries) {
        hooks.log('warn', `${file.name}: lock_timeout hit; retry ${attempt}/${opts.lockRetries}`)
        await backoff(attempt, opts.backoffMs)
        continue
      }
      throw err
    }
  }
}

interface IndexTarget { schema: string | null, name: string }

/** Indexes this migration builds CONCURRENTLY by name. */
function concurrentIndexNames (statements: SqlStatement[]): IndexTarget[] {
  const out: IndexTarget[] = []
  for (const stmt of statements) {
    if (stmt.node !== null && 'IndexStmt' in stmt.node) {
      const idx = stmt.node.IndexStmt
      if (idx.concurrent === true && idx.idxname !== undefined) out.push({ schema: idx.relation?.schemaname ?? null, name: idx.idxname })
    }
  }
  return out
}

/**
 * A failed (or killed) CREATE INDEX CONCURRENTLY leaves an INVALID index
 * behind: never used by queries, still maintained on every write, and in the
 * way of the retry ("already exists"). Those named by this migration are
 * reported and dropped, CONCURRENTLY so the drop does not block the table.
 */
export async function dropInvalidIndexes (client: pg.Client, statements: SqlStatement[], hooks: ExecuteHooks): Promise<string[]> {
  const dropped: string[] = []
  for (const target of concurrentIndexNames(statements)) {
    const { rows } = await client.query<{ nspname: string, relname: string }>(
      `SELECT n.nspname, c.relname FROM pg_index i
         JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE NOT i.indisvalid AND c.relname = $1
         AND (($2::text IS NULL AND pg_table_is_visible(c.oid)) OR n.nspname = $2)`,
      [target.name, target.schema])
    for (const row of rows) {
      const qualified = `${quoteIdent(row.nspname)}.${quoteIdent(row.relname)}`
      hooks.log('warn', `invalid index ${row.nspname}.${row.relname} left by a failed CREATE INDEX CONCURRENTLY; dropping it`)
      try {
        await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified}`)
        dropped.push(`${row.nspname}.${row.relname}`)
      } catch (err) {
        hooks.log('error', `could not drop invalid index ${row.nspname}.${row.relname}: ${(err as Error).message}; drop it by hand`)
      }
    }
  }
  return dropped
}

function isReindexConcurrently (stmt: SqlStatement): boolean {
  return stmt.node !== null && 'ReindexStmt' in stmt.node
}

/**
 * A `-- drawbridge:no-transaction` migration: statement by statement in
 * autocommit (one multi-statement query would be an implicit transaction,
 * which CREATE INDEX CONCURRENTLY refuses). Retrying after lock_timeout is done
 * per statement, which is safe: the failed statement committed nothing, and
 * an invalid index it left is dropped first. Inside an explicit BEGIN … COMMIT
 * block of the file, the failed statement has aborted the whole block, so the
 * block is rolled back and retried from its BEGIN. REINDEX CONCURRENTLY is not
 * retried (its leftovers have generated names). The tracking row is written
 * once every statement succeeded.
 */
export async function applyWithoutTransaction (
  client: pg.Client, file: MigrationFile, statements: SqlStatement[],
  record: (client: pg.Client) => Promise<void>, opts: ExecuteOptions, hooks: ExecuteHooks
): Promise<string[]> {
  const dropped = await dropInvalidIndexes(client, statements, hooks)
  const around = hooks.statement ?? runDirectly
  let total = 0
  /** Index of the BEGIN of the explicit block the file is in, or -1. */
  let blockStart = -1
  const attempts = new Map<number, number>()
  for (let i = 0; i < statements.length; i++) {
    const stmt = statements[i] as SqlStatement
    total++
    hooks.attempt(total)
    try {
      await around(stmt, async () => await client.query(stmt.text))
      if (opensBlock(stmt)) blockStart = i
      else if (endsBlock(stmt)) blockStart = -1
    } catch (err) {
      const retryFrom = blockStart >= 0 ? blockStart : i
      if (blockStart >= 0) await client.query('ROLLBACK').catch(() => {})
      blockStart = -1
      dropped.push(...await dropInvalidIndexes(client, statements, hooks).catch(() => []))
      const attempt = (attempts.get(retryFrom) ?? 0) + 1
      attempts.set(retryFrom, attempt)
      if (isLockTimeout(err) && attempt <= opts.lockRetries && !isReindexConcurrently(stmt)) {
        const where = retryFrom === i ? '' : ` (inside the block that begins at line ${(statements[retryFrom] as SqlStatement).line}: rolled back, retrying it from there)`
        hooks.log('warn', `${file.name} line ${stmt.line}: lock_timeout hit${where}; retry ${attempt}/${opts.lockRetries}`)
        await backoff(attempt, opts.backoffMs)
        i = retryFrom - 1
        continue
      }
      throw failureAt(err, file, stmt)
    }
  }
  if (blockStart >= 0) {
    // A block left open would be committed (or lost) by whatever the connection runs next.
    await client.query('ROLLBACK').catch(() => {})
    const open = statements[blockStart] as SqlStatement
    throw new MigrationFailure(`${file.name} line ${open.line}: the transaction opened here is never committed; rolled back`, null, open.line)
  }
  await record(client)
  return dropped
}
