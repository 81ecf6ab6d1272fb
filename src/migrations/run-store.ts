import type pg from 'pg'
import { LOCK_CLASS, RUN_LOCK, databaseError, timestamp, type MigrationDb } from './migration-db.js'
import { DEFAULT_RUN_OPTIONS, type RunRecord, type RunStatus } from './run-types.js'

const INTERRUPTED_MSG = 'The runner stopped before this run finished (process killed or connection lost). ' +
  'The migration in progress was rolled back unless it ran without a transaction; check the database before running again.'
const INTERRUPTED_STEP = 'interrupted: the runner stopped while this step was running (process killed or connection lost). ' +
  'A migration in a transaction was rolled back; one without a transaction may be partly applied: check the database before running again.'

/**
 * A run still `queued`/`running` whose lock holder is gone: its runner died
 * mid-way. SQL over the runs table `r`; $1, $2: the lock's class and id, $3:
 * the runs this process is executing.
 */
const ORPHANED = `r.status IN ('queued', 'running') AND NOT (r.id = ANY($3::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.pid = r.lock_pid
    AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 2
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`

/**
 * A run whose runner died, as it is recorded: `interrupted` with an error,
 * the step that was running marked `interrupted` with what to check, steps
 * that never started `skipped`. Reads show it so before markInterrupted
 * writes it, and both use this one function.
 */
export function asInterrupted (record: RunRecord, now = new Date().toISOString()): RunRecord {
  return {
    ...record,
    status: 'interrupted',
    finishedAt: record.finishedAt ?? now,
    error: record.error ?? { code: 'DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED', message: INTERRUPTED_MSG },
    steps: record.steps.map((step) => {
      if (step.status === 'running') return { ...step, status: 'interrupted', detail: INTERRUPTED_STEP }
      if (step.status === 'pending') return { ...step, status: 'skipped', detail: 'not run: the run was interrupted' }
      return step
    }),
    log: [...record.log, { at: now, level: 'error', msg: INTERRUPTED_MSG }]
  }
}

/** A row as a record; an orphaned one reads as what markInterrupted will record (reads never write). */
function fromRow (r: Record<string, unknown>): RunRecord {
  const record = decodeRow(r)
  return r.orphaned === true ? asInterrupted(record) : record
}

function decodeRow (r: Record<string, unknown>): RunRecord {
  return {
    id: r.id as string,
    status: r.status as RunStatus,
    actor: r.actor as string,
    options: { ...DEFAULT_RUN_OPTIONS, ...(r.options as object) },
    steps: r.steps as RunRecord['steps'],
    log: r.log as RunRecord['log'],
    findings: r.findings as RunRecord['findings'],
    error: (r.error as RunRecord['error']) ?? null,
    backup: r.backup_file === null ? null : { file: r.backup_file as string, sizeBytes: Number(r.backup_size) },
    createdAt: timestamp(r.created_at),
    startedAt: r.started_at === null ? null : timestamp(r.started_at),
    finishedAt: r.finished_at === null ? null : timestamp(r.finished_at),
    durationMs: (r.duration_ms as number | null) ?? null
  }
}

/** Runs persist in the application database, so they survive a gateway restart. */
export class RunStore {
  constructor (private readonly db: MigrationDb) {}

  async insert (run: RunRecord, lockPid: number): Promise<void> {
    const table = await this.db.runsTable()
    await this.db.pool.query(
      `INSERT INTO ${table} (id, status, actor, options, steps, log, findings, error, lock_pid, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [run.id, run.status, run.actor, JSON.stringify(run.options), JSON.stringify(run.steps), JSON.stringify(run.log),
        JSON.stringify(run.findings), run.error === null ? null : JSON.stringify(run.error), lockPid, run.createdAt])
  }

  async update (run: RunRecord, on: pg.Pool | pg.PoolClient = this.db.pool): Promise<void> {
    const table = await this.db.runsTable()
    await on.query(
      `UPDATE ${table} SET status = $2, steps = $3, log = $4, findings = $5, error = $6, backup_file = $7, backup_size = $8,
         started_at = $9, finished_at = $10, duration_ms = $11 WHERE id = $1`,
      [run.id, run.status, JSON.stringify(run.steps), JSON.stringify(run.log), JSON.stringify(run.findings),
        run.error === null ? null : JSON.stringify(run.error), run.backup?.file ?? null, run.backup?.sizeBytes ?? null,
        run.startedAt, run.finishedAt, run.durationMs])
  }

  /** `live`: runs this process is executing (never orphaned). */
  async get (id: string, live: Set<string>): Promise<RunRecord | null> {
    const table = await this.db.existingTable('drawbridge_migration_runs')
    if (table === null) return null
    try {
      const { rows } = await this.db.pool.query(`SELECT r.*, (${ORPHANED}) AS orphaned FROM ${table} r WHERE r.id = $4`, [LOCK_CLASS, RUN_LOCK, [...live], id])
      return rows[0] === undefined ? null : fromRow(rows[0])
    } catch (err) {
      throw databaseError(err)
    }
  }

  async list (limit: number, live: Set<string>): Promise<RunRecord[]> {
    const table = await this.db.existingTable('drawbridge_migration_runs')
    if (table === null) return []
    try {
      const { rows } = await this.db.pool.query(`SELECT r.*, (${ORPHANED}) AS orphaned FROM ${table} r ORDER BY r.created_at DESC LIMIT $4`, [LOCK_CLASS, RUN_LOCK, [...live], limit])
      return rows.map(fromRow)
    } catch (err) {
      throw databaseError(err)
    }
  }

  /** Newest run that wrote a backup: what to restore from when a migration went wrong. */
  async lastBackup (): Promise<{ runId: string, file: string, sizeBytes: number, createdAt: string } | null> {
    const table = await this.db.existingTable('drawbridge_migration_runs')
    if (table === null) return null
    const { rows } = await this.db.pool.query(
      `SELECT id, backup_file, backup_size, started_at FROM ${table} WHERE backup_file IS NOT NULL ORDER BY created_at DESC LIMIT 1`)
    const r = rows[0]
    if (r === undefined) return null
    return { runId: r.id, file: r.backup_file, sizeBytes: Number(r.backup_size), createdAt: timestamp(r.started_at) }
  }

  /**
   * A run still `queued`/`running` whose lock holder is gone died mid-way
   * (process killed, connection lost): record it as `interrupted`, never leave
   * it looking alive. `live` lists runs this process is executing right now.
   * FOR UPDATE: two gateways starting together record each run once (the
   * second re-reads the row, no longer orphaned, after the first commits).
   */
  async markInterrupted (live: Set<string>): Promise<string[]> {
    const table = await this.db.existingTable('drawbridge_migration_runs')
    if (table === null) return []
    const client = await this.db.pool.connect()
    try {
      await client.query('BEGIN')
      const { rows } = await client.query(`SELECT r.* FROM ${table} r WHERE ${ORPHANED} FOR UPDATE OF r`, [LOCK_CLASS, RUN_LOCK, [...live]])
      for (const row of rows) await this.update(asInterrupted(decodeRow(row)), client)
      await client.query('COMMIT')
      return rows.map((r) => r.id as string)
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw err
    } finally {
      client.release()
    }
  }
}
