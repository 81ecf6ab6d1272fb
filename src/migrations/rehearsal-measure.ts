import { performance } from 'node:perf_hooks'
import type pg from 'pg'
import { fileNodes, rewrittenTables, type FileNodes, type HeldLock, type LockObserver } from './lock-observer.js'
import { recordApplied } from './migration-db.js'
import { applyInTransaction, applyWithoutTransaction, MigrationFailure, type ExecuteHooks, type ExecuteOptions } from './migration-executor.js'
import type { MigrationFile } from './migration-files.js'
import { strength, verdict } from './rehearsal-verdict.js'
import type { RehearsalLock, RehearsalMigration, RehearsalStatement } from './rehearsal-types.js'
import type { SqlStatement } from './sql-statements.js'

/** Locks listed per statement (the strongest first): a statement on a table with thousands of partitions locks each one. */
const MAX_LOCKS_PER_STATEMENT = 50

export interface MeasureContext {
  client: pg.Client
  observer: LockObserver
  trackingTable: string
  executeOptions: ExecuteOptions
  /** Recorded as `applied_by` in the scratch database's tracking table. */
  actor: string
  rehearsalId: string
  log: ExecuteHooks['log']
  /** Set at shutdown: no further statement starts. */
  stopped: () => boolean
}

interface Measured extends RehearsalStatement {
  /** performance.now() at the start of its last attempt: locks seen before it belong to an earlier attempt. */
  startedAt: number
}

function locksOf (held: HeldLock[], index: number, since: number): RehearsalLock[] {
  return held
    .filter((l) => l.statement === index && l.from >= since)
    .sort((a, b) => strength(a.mode) - strength(b.mode) || (b.to - b.from) - (a.to - a.from) || a.relation.localeCompare(b.relation))
    .slice(0, MAX_LOCKS_PER_STATEMENT)
    .map((l) => ({ relation: l.relation, mode: l.mode, ms: Math.round(l.to - l.from) }))
}

/**
 * Applies one migration to the scratch database through the run's own
 * executor (same transaction handling, retries, invalid-index cleanup,
 * tracking row), measuring each statement through the executor's statement
 * hook: its duration, the locks it held (LockObserver), and the tables it
 * rewrote (file nodes compared on the migration's own connection, which sees
 * its uncommitted catalog changes). The first file-node snapshot is taken
 * before the executor's BEGIN, so no query of ours runs in the migration's
 * transaction before its first statement (`SET TRANSACTION ISOLATION LEVEL`
 * must come first). Never rejects: a failed migration is returned as failed.
 */
export async function rehearseMigration (ctx: MeasureContext, file: MigrationFile, statements: SqlStatement[]): Promise<RehearsalMigration> {
  const { client, observer } = ctx
  const autocommit = file.directives.noTransaction
  const measured: Measured[] = []
  const initial = await fileNodes(client)
  let nodes: FileNodes | null = initial

  const hooks: ExecuteHooks = {
    log: ctx.log,
    attempt: (n) => {
      // In a transaction a retry starts the migration over: what the rolled-back attempt measured is void.
      if (autocommit || n === 1) return
      observer.migrationEnded()
      measured.length = 0
      nodes = initial
    },
    statement: async (stmt, execute) => {
      if (ctx.stopped()) throw new Error('stopped before this statement: the gateway is shutting down')
      let index = measured.findIndex((m) => m.line === stmt.line)
      if (index < 0) index = measured.push({ line: stmt.line, ms: 0, rewrote: false, rewritten: [], locks: [], startedAt: 0 }) - 1
      const entry = measured[index] as Measured
      // Read before the observer's own start: every lock it attributes to this attempt starts at or after it.
      const startedAt = performance.now()
      observer.statementStarted(index)
      let failure: unknown = null
      try {
        await execute()
      } catch (err) {
        failure = err
      }
      entry.ms = Math.round(performance.now() - startedAt)
      entry.startedAt = startedAt
      await observer.statementEnded(autocommit)
      const after = failure === null ? await fileNodes(client) : null
      entry.rewritten = rewrittenTables(nodes, after)
      entry.rewrote = entry.rewritten.length > 0
      if (after !== null) nodes = after
      if (failure !== null) {
        entry.error = (failure as Error).message
        throw failure
      }
      delete entry.error
    }
  }

  const started = performance.now()
  const record = async (c: pg.Client): Promise<void> => {
    await recordApplied(c, ctx.trackingTable, { name: file.name, checksum: file.checksum, durationMs: Math.round(performance.now() - started), actor: ctx.actor, runId: ctx.rehearsalId })
  }
  let error: string | null = null
  try {
    if (autocommit) await applyWithoutTransaction(client, file, statements, record, ctx.executeOptions, hooks)
    else await applyInTransaction(client, file, statements, record, ctx.executeOptions, hooks)
  } catch (err) {
    error = err instanceof MigrationFailure ? err.message : `${file.name}: ${(err as Error).message}`
  }
  const ms = Math.round(performance.now() - started)
  const held = observer.migrationEnded()
  const out: RehearsalStatement[] = measured.map(({ startedAt, ...statement }, index) => ({ ...statement, locks: locksOf(held, index, startedAt) }))
  const counted = held.filter((l) => { const m = measured[l.statement]; return m !== undefined && l.from >= m.startedAt })
  return {
    name: file.name,
    checksum: file.checksum,
    status: error === null ? 'applied' : 'failed',
    ms,
    noTransaction: autocommit,
    statements: out,
    verdict: verdict(counted, [...new Set(out.flatMap((s) => s.rewritten))].sort()),
    error
  }
}
