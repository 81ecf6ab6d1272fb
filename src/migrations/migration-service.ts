import { randomUUID } from 'node:crypto'
import { access } from 'node:fs/promises'
import type { AppContext } from '../context.js'
import { errors, isDrawbridgeError } from '../errors.js'
import { tryRunLock } from './advisory-lock.js'
import { analyzeStatements, type Finding } from './analyzer.js'
import { databaseError, MigrationDb, type AppliedRow } from './migration-db.js'
import { readMigrations, type MigrationFile } from './migration-files.js'
import { describePending, planMigrations, selectPending, type DriftedMigration, type MigrationPlan, type PendingMigration } from './migration-status.js'
import { RehearsalService } from './rehearsal-service.js'
import type { RehearsalBody } from './rehearsal-types.js'
import { RunOrchestrator, type Execution } from './run-orchestrator.js'
import { clearStaleProgress } from './run-progress.js'
import { RunRecorder, type RunEvent } from './run-recorder.js'
import type { RunBody } from './run-schema.js'
import { RunStore } from './run-store.js'
import { DEFAULT_RUN_OPTIONS, type RunOptions, type RunRecord } from './run-types.js'
import { loadParser, splitStatements } from './sql-statements.js'

export interface MigrationServiceOptions {
  databaseUrl: string
  migrationsDir: string
  backupDir: string
  /** pg_dump binary (default: found on PATH). */
  pgDump?: string
  /** Base of the backoff between lock_timeout retries. */
  retryBackoffMs?: number
  /** How long close() lets a run stop cleanly before its connections are cut. */
  closeGraceMs?: number
  /** Where rehearsals make scratch databases (default: the application database's server). */
  rehearsalDatabaseUrl?: string | undefined
  /** pg_restore binary, for rehearsals (default: found on PATH). */
  pgRestore?: string
  /** How often a rehearsal polls pg_locks while a statement runs. */
  lockPollMs?: number
}

export interface MigrationStatusReport {
  migrationsDir: string
  applied: MigrationPlan['applied']
  pending: PendingMigration[]
  drifted: DriftedMigration[]
  missing: string[]
  /** A run holds the fleet-wide lock right now. */
  locked: boolean
  lastRun: Pick<RunRecord, 'id' | 'status' | 'actor' | 'createdAt' | 'finishedAt'> & { dryRun: boolean } | null
  /** The newest pg_dump taken before a run: what to restore from (Drawbridge runs no down migrations). */
  backup: { file: string, sizeBytes: number, runId: string, createdAt: string, exists: boolean, restore: string } | null
}

function resolveOptions (body: RunBody): RunOptions {
  const o: RunOptions = { ...DEFAULT_RUN_OPTIONS }
  for (const [key, value] of Object.entries(body)) if (value !== undefined) (o as unknown as Record<string, unknown>)[key] = value
  if (o.pause && o.maintenance === 'never') {
    throw new errors.DRAWBRIDGE_ERR_INVALID('pause: a pause holds traffic around the migrations, and maintenance: never says to close nothing; drop one of them')
  }
  return o
}

/**
 * The database for the restore hint as a connection URI (pg_restore takes one
 * in --dbname), so host, port and user survive; the password is left out (it
 * belongs in PGPASSWORD or ~/.pgpass, not in a command line people paste).
 */
export function restoreTarget (databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl)
    url.password = ''
    return `'${url.toString().replace(/'/g, "'\\''")}'`
  } catch {
    return 'postgres'
  }
}

/**
 * Migrations against the application's PostgreSQL: status, analysis, and runs
 * executed as background jobs. Everything here works without HTTP; the admin
 * routes are a thin layer over it.
 */
export class MigrationService {
  private readonly db: MigrationDb
  private readonly runs: RunStore
  private readonly orchestrator: RunOrchestrator
  private readonly executions = new Map<string, Execution>()
  private closing = false
  /** Rehearsals on scratch copies (CONTRACT section 8), held in this process's memory. */
  readonly rehearsals: RehearsalService

  constructor (private readonly ctx: AppContext, readonly options: MigrationServiceOptions) {
    this.db = new MigrationDb(options.databaseUrl)
    this.runs = new RunStore(this.db)
    this.orchestrator = new RunOrchestrator(ctx, options, this.db)
    this.rehearsals = new RehearsalService(options, ctx.logger)
  }

  /** Null when no databaseUrl is configured: the routes then answer 501. */
  static fromContext (ctx: AppContext): MigrationService | null {
    const { databaseUrl, migrationsDir, backupDir, rehearsalDatabaseUrl } = ctx.config
    if (databaseUrl === undefined || databaseUrl === '') return null
    return new MigrationService(ctx, { databaseUrl, migrationsDir, backupDir, rehearsalDatabaseUrl })
  }

  private get log () { return this.ctx.logger }

  /** Runs this process is executing: never shown as interrupted. */
  private live (): Set<string> { return new Set(this.executions.keys()) }

  /**
   * At startup: runs left `running` by a process that died are marked
   * `interrupted`. Best effort: a database that is down now is reported when
   * someone asks for migrations.
   */
  async start (): Promise<void> {
    try {
      const ids = await this.runs.markInterrupted(this.live())
      for (const id of ids) this.log.warn({ runId: id }, 'migration run was interrupted (its runner died); marked interrupted')
      // A dead run's "step 3 of 5" must not stay on the page.
      await clearStaleProgress(this.ctx, ids)
    } catch (err) {
      this.log.warn({ err }, 'migrations: database not reachable at startup')
    }
  }

  private async plan (): Promise<{ files: MigrationFile[], applied: AppliedRow[], plan: MigrationPlan }> {
    await this.db.check()
    const files = await readMigrations(this.options.migrationsDir)
    const applied = await this.db.listApplied()
    return { files, applied, plan: planMigrations(files, applied) }
  }

  async status (): Promise<MigrationStatusReport> {
    const { plan } = await this.plan()
    const [locked, last, backup] = await Promise.all([this.db.runLockHeld(), this.runs.list(1, this.live()), this.runs.lastBackup()])
    const lastRun = last[0]
    let backupView: MigrationStatusReport['backup'] = null
    if (backup !== null) {
      const exists = await access(backup.file).then(() => true, () => false)
      backupView = { ...backup, exists, restore: `pg_restore --clean --if-exists --no-owner --dbname=${restoreTarget(this.options.databaseUrl)} ${backup.file}` }
    }
    return {
      migrationsDir: this.options.migrationsDir,
      applied: plan.applied,
      pending: plan.pending.map(describePending),
      drifted: plan.drifted,
      missing: plan.missing,
      locked,
      lastRun: lastRun === undefined
        ? null
        : { id: lastRun.id, status: lastRun.status, actor: lastRun.actor, createdAt: lastRun.createdAt, finishedAt: lastRun.finishedAt, dryRun: lastRun.options.dryRun },
      backup: backupView
    }
  }

  /** Findings for every pending migration, in order. */
  async analyze (): Promise<{ findings: Finding[] }> {
    const { plan } = await this.plan()
    await loadParser()
    return { findings: plan.pending.flatMap((f) => analyzeStatements(f, splitStatements(f.sql))) }
  }

  /**
   * Starts a run and resolves with its id as soon as it is recorded; the run
   * continues in the background. Rejects before anything starts when the
   * database is unreachable (503), another run holds the lock (409), or an
   * applied migration drifted (409).
   */
  async startRun (body: RunBody, actor: string): Promise<{ id: string }> {
    if (this.closing) throw new errors.DRAWBRIDGE_ERR_DATABASE('shutting down')
    const options = resolveOptions(body)
    await this.db.check()
    await this.db.ensureTables()
    const files = await readMigrations(this.options.migrationsDir)
    const id = randomUUID()
    const lock = await tryRunLock(this.options.databaseUrl, (err) => {
      this.log.error({ err, runId: id }, 'migration run lock connection lost')
    })
    if (lock === null) throw new errors.DRAWBRIDGE_ERR_MIGRATION_LOCKED()
    let recorder: RunRecorder
    let plan: MigrationPlan
    let durations: Map<string, number> | null
    try {
      plan = planMigrations(files, await this.db.listApplied())
      if (plan.drifted.length > 0) {
        throw new errors.DRAWBRIDGE_ERR_MIGRATION_DRIFT(plan.drifted.map((d) => d.name).join(', ') +
          ' (applied migrations must not change: restore the files as they were applied)')
      }
      durations = this.rehearsed(plan, options)
      // Anything still "running" now cannot be: we hold the lock.
      await clearStaleProgress(this.ctx, await this.runs.markInterrupted(this.live()))
      const run: RunRecord = {
        id,
        status: 'queued',
        actor,
        options,
        steps: [],
        log: [],
        findings: [],
        error: null,
        backup: null,
        createdAt: new Date().toISOString(),
        startedAt: null,
        finishedAt: null,
        durationMs: null
      }
      await this.runs.insert(run, lock.pid)
      recorder = new RunRecorder(run, this.runs, this.log.child({ component: 'migrations' }))
      const { metrics } = this.ctx
      recorder.subscribe((event) => {
        if (event.type !== 'end') return
        metrics.migrationRuns.inc({ outcome: event.run.status, dry_run: String(event.run.options.dryRun) })
        metrics.migrationRunDuration.observe((event.run.durationMs ?? 0) / 1000)
      })
    } catch (err) {
      await lock.release()
      throw isDrawbridgeError(err) ? err : databaseError(err)
    }
    const execution: Execution = { recorder, done: Promise.resolve(), migrationPid: null, aborting: false }
    this.executions.set(id, execution)
    execution.done = this.orchestrator.execute(execution, plan, lock, durations)
      .catch((err: unknown) => { this.log.error({ err, runId: id }, 'migration run crashed') })
      .finally(() => { this.executions.delete(id) })
    return { id }
  }

  /** Starts a rehearsal once the live database answers; 202 material, the rest happens in the background. */
  async startRehearsal (body: RehearsalBody, actor: string): Promise<{ id: string }> {
    if (this.closing) throw new errors.DRAWBRIDGE_ERR_DATABASE('shutting down')
    await this.db.check()
    return await this.rehearsals.start(body, actor, async () => await this.db.runLockHeld())
  }

  /**
   * What a rehearsal of exactly the files this run applies measured, per
   * migration (the window's estimate); null when none matches. Throws when
   * the run requires a rehearsal and none matches.
   */
  private rehearsed (plan: MigrationPlan, options: RunOptions): Map<string, number> | null {
    const selected = selectPending(plan, options.step)
    const rehearsal = this.rehearsals.matching(selected)
    if (rehearsal === null && options.requireRehearsal && !options.dryRun && selected.length > 0) {
      throw new errors.DRAWBRIDGE_ERR_REHEARSAL_REQUIRED(`${selected.map((f) => f.name).join(', ')} ` +
        '(requireRehearsal: run `drawbridge migrate rehearse` first; it counts when it succeeded on this gateway in the last 24 h with these exact files)')
    }
    return rehearsal === null ? null : new Map(rehearsal.migrations.map((m) => [m.name, m.ms]))
  }

  async getRun (id: string): Promise<RunRecord | null> {
    const live = this.executions.get(id)
    if (live !== undefined) return live.recorder.run
    await this.db.check()
    return await this.runs.get(id, this.live())
  }

  async listRuns (limit: number): Promise<RunRecord[]> {
    await this.db.check()
    return await this.runs.list(limit, this.live())
  }

  /**
   * Follows a run executing in this process: the listener gets every later
   * change, ending with `end`. Null when the run is not live here (finished,
   * or running on another replica): read it with getRun instead.
   */
  watch (id: string, listener: (event: RunEvent) => void): { run: RunRecord, unsubscribe: () => void } | null {
    const live = this.executions.get(id)
    // Ended but not yet forgotten: its row is final, read that instead.
    if (live === undefined || live.recorder.ended) return null
    return { run: live.recorder.run, unsubscribe: live.recorder.subscribe(listener) }
  }

  /** Resolves when a run of this process has finished (tests, CLI-less callers). */
  async waitForRun (id: string): Promise<RunRecord | null> {
    await this.executions.get(id)?.done
    return await this.getRun(id)
  }

  /**
   * Shutdown: a running statement is cancelled (the transaction rolls back),
   * the run is recorded as interrupted, then the pool closes.
   */
  async close (): Promise<void> {
    this.closing = true
    const rehearsals = this.rehearsals.close()
    const running = [...this.executions.values()]
    for (const execution of running) {
      execution.aborting = true
      if (execution.migrationPid !== null) {
        await this.db.cancelBackend(execution.migrationPid).catch(() => {})
      }
    }
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.options.closeGraceMs ?? 5000).unref())
    await Promise.race([Promise.all(running.map(async (e) => await e.done)), grace])
    await rehearsals
    await this.db.close().catch(() => {})
  }
}
