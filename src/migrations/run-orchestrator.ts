import type pg from 'pg'
import type { AppContext } from '../context.js'
import { errors, isDrawbridgeError } from '../errors.js'
import { setFlagEnabled } from '../flags/flag-service.js'
import type { RunLock } from './advisory-lock.js'
import { analyzeStatements, type Finding } from './analyzer.js'
import { takeBackup } from './backup.js'
import { backendPid, connectMigrationClient, recordApplied, type MigrationDb } from './migration-db.js'
import { applyDryRun, applyInTransaction, applyWithoutTransaction, MigrationFailure, type ExecuteHooks, type ExecuteOptions } from './migration-executor.js'
import type { MigrationFile } from './migration-files.js'
import { selectPending, type MigrationPlan } from './migration-status.js'
import { maintenanceGate, pauseGate, type RunGate } from './run-gate.js'
import { RunProgress } from './run-progress.js'
import type { RunRecorder } from './run-recorder.js'
import type { RunOptions, RunRecord } from './run-types.js'
import { loadParser, splitStatements, type SqlStatement } from './sql-statements.js'
import { firstTransactionControl, transactionControlProblem } from './transaction-control.js'

/** What a run needs to know of the service's settings. */
export interface RunnerOptions {
  databaseUrl: string
  backupDir: string
  pgDump?: string | undefined
  /** Base of the backoff between lock_timeout retries. */
  retryBackoffMs?: number | undefined
}

interface Prepared {
  file: MigrationFile
  statements: SqlStatement[]
  findings: Finding[]
  /** Index of its step in the run, and of the steps of the flags it activates. */
  step: number
  flagSteps: Array<{ key: string, step: number }>
}

/** Steps are laid out up front in execution order, so the run shows its whole plan from the start. */
interface PlannedSteps { backup: number | null, open: number | null, close: number | null }

/** What close() needs to stop a run that is executing in this process. */
export interface Execution {
  recorder: RunRecorder
  done: Promise<void>
  /** Backend pid of the migration connection, to cancel its statement. */
  migrationPid: number | null
  aborting: boolean
}

class RunAborted extends Error {}

const STOPPED = 'gateway shutting down: the run was stopped; the migration in progress was rolled back unless it ran without a transaction'

function errorInfo (err: Error & { code?: string }): { code: string, message: string } {
  if (isDrawbridgeError(err)) return { code: err.code, message: err.message }
  return { code: 'DRAWBRIDGE_ERR_DATABASE', message: err.message }
}

/**
 * Executes one migration run, step by step: analysis, the danger check, the
 * backup, the maintenance window around the migrations, each migration under
 * its timeouts and retries, the flags it activates once it commits, and on
 * failure the window put back. The MigrationService decides whether a run may
 * start (lock, drift) and records it; this carries it out.
 */
export class RunOrchestrator {
  constructor (private readonly ctx: AppContext, private readonly options: RunnerOptions, private readonly db: MigrationDb) {}

  private get log () { return this.ctx.logger }

  /**
   * Runs a recorded run to its end (or failure), then releases its lock. Never rejects for a failed run: the outcome is in the record.
   * `durations`: what a rehearsal of these files measured per migration, for the window's estimate.
   */
  async execute (execution: Execution, plan: MigrationPlan, lock: RunLock, durations: ReadonlyMap<string, number> | null = null): Promise<void> {
    const rec = execution.recorder
    const run = rec.run
    const opts = run.options
    const runActor = `migration-run:${run.id}`
    let client: pg.Client | null = null
    const gate: RunGate = opts.pause ? pauseGate(this.ctx, runActor) : maintenanceGate(this.ctx, runActor, opts.message, opts.retryAfter)
    let prepared: Prepared[] = []
    let progress: RunProgress | null = null
    try {
      rec.setStatus('running')
      const selected = selectPending(plan, opts.step)
      if (selected.length === 0) {
        rec.log('info', 'nothing to apply: every migration is applied')
        await rec.finish('succeeded')
        return
      }
      const names = selected.map((f) => f.name).join(', ')
      rec.log('info', `${opts.dryRun ? 'dry run of' : 'applying'} ${selected.length} migration(s): ${names}`)

      await loadParser()
      const analyzed = selected.map((file) => {
        const statements = splitStatements(file.sql)
        return { file, statements, findings: analyzeStatements(file, statements) }
      })
      run.findings = analyzed.flatMap((p) => p.findings)
      for (const f of run.findings) rec.log(f.severity === 'high' ? 'warn' : 'info', `${f.migration}:${f.line} ${f.severity} ${f.rule}: ${f.message}`)

      // A pause is asked for outright, so it holds traffic whatever the analysis says.
      const needsWindow = !opts.dryRun && (opts.pause || opts.maintenance === 'always' ||
        (opts.maintenance === 'auto' && analyzed.some((p) => p.file.directives.maintenance || p.findings.some((f) => f.severity === 'high'))))
      const planned: PlannedSteps = {
        backup: opts.backup && !opts.dryRun ? rec.addStep('backup', 'pg_dump') : null,
        open: needsWindow ? rec.addStep(gate.kind, gate.kind === 'pause' ? 'hold' : 'open') : null,
        close: null
      }
      prepared = analyzed.map((p) => ({
        ...p,
        step: rec.addStep('migration', p.file.name),
        flagSteps: opts.dryRun ? [] : p.file.directives.activates.map((key) => ({ key, step: rec.addStep('flag', key) }))
      }))
      planned.close = needsWindow ? rec.addStep(gate.kind, gate.kind === 'pause' ? 'release' : 'close') : null

      // Refused before anything runs: a file that would commit inside the run's transaction, then unmarked high findings.
      const nested = prepared.flatMap((p) => p.file.directives.noTransaction ? [] : [[p.file.name, firstTransactionControl(p.statements)] as const])
        .flatMap(([name, stmt]) => stmt === null ? [] : [{ name, problem: transactionControlProblem(name, stmt) }])
      const dangerous = prepared.filter((p) => !p.file.directives.maintenance && p.findings.some((f) => f.severity === 'high'))
      const refusal = nested.length > 0
        ? { reason: 'transaction-control', names: nested.map((n) => n.name), err: new errors.DRAWBRIDGE_ERR_INVALID(nested.map((n) => n.problem).join('; ')) }
        : dangerous.length > 0 && !opts.allowDangerous
          ? { reason: 'dangerous', names: dangerous.map((p) => p.file.name), err: new errors.DRAWBRIDGE_ERR_MIGRATION_DANGEROUS(dangerous.map((p) => p.file.name).join(', ')) }
          : null
      if (refusal !== null) {
        rec.log('error', `${refusal.err.message}. Nothing was applied.`)
        this.skipPending(rec)
        await rec.finish('failed', errorInfo(refusal.err))
        this.publish('migration.failed', run, { reason: refusal.reason, migrations: refusal.names })
        return
      }
      if (opts.maintenance === 'never' && !opts.dryRun) {
        const required = prepared.filter((p) => p.file.directives.maintenance)
        const state = await this.ctx.store.load()
        if (required.length > 0 && !state.maintenance.enabled) {
          throw new errors.DRAWBRIDGE_ERR_INVALID(`${required.map((p) => p.file.name).join(', ')} must run in a maintenance window (-- drawbridge:maintenance), and this run says maintenance: never`)
        }
      }

      this.publish('migration.started', run, { migrations: selected.map((f) => f.name) })
      client = await connectMigrationClient(this.options.databaseUrl, opts, (err) => { this.log.warn({ err }, 'migration connection error') })
      execution.migrationPid = await backendPid(client)

      if (opts.dryRun) {
        await this.dryRun(execution, client, prepared)
      } else {
        if (planned.backup !== null) await this.backup(rec, planned.backup)
        else rec.log('info', 'no backup requested (backup: true runs pg_dump first)')
        if (planned.open !== null) {
          const step = planned.open
          rec.startStep(step)
          rec.endStep(step, 'succeeded', await gate.close())
          rec.log('info', gate.kind === 'pause' ? 'traffic paused: requests are held while the migrations run' : 'maintenance window opened')
          if (gate.kind === 'maintenance') progress = this.progress(rec, selected, durations)
        } else if (opts.maintenance !== 'never') {
          rec.log('info', 'no maintenance window needed (no -- drawbridge:maintenance directive, no allowed high-severity finding)')
        }
        await this.applyAll(execution, client, lock, prepared, progress)
        await progress?.clear()
        if (gate.closed && planned.close !== null) {
          const step = planned.close
          rec.startStep(step)
          rec.endStep(step, 'succeeded', await gate.restore())
          rec.log('info', gate.kind === 'pause' ? 'traffic resumed' : 'maintenance window closed')
        }
      }
      await rec.finish(run.steps.some((s) => s.status === 'failed') ? 'failed' : 'succeeded')
      this.publish(run.status === 'succeeded' ? 'migration.succeeded' : 'migration.failed', run, { migrations: selected.map((f) => f.name) })
    } catch (err) {
      await progress?.clear()
      await this.fail(execution, err as Error, gate)
    } finally {
      await client?.end().catch(() => {})
      await lock.release()
    }
  }

  private async fail (execution: Execution, err: Error, gate: RunGate): Promise<void> {
    const rec = execution.recorder
    const run = rec.run
    for (const step of run.steps) {
      if (step.status === 'running') this.endFailedStep(execution, run.steps.indexOf(step), err.message)
    }
    this.skipPending(rec)
    if (execution.aborting) {
      rec.log('error', STOPPED)
      await rec.finish('interrupted', { code: 'DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED', message: `${STOPPED} (${err.message})` })
      this.publish('migration.failed', run, { reason: 'interrupted' })
      return
    }
    rec.log('error', err.message)
    if (gate.closed) {
      if (run.options.onFailure === 'restore') {
        const step = rec.addStep(gate.kind, 'restore')
        rec.startStep(step)
        try {
          rec.endStep(step, 'succeeded', await gate.restore())
        } catch (restoreErr) {
          rec.endStep(step, 'failed', (restoreErr as Error).message)
        }
      } else {
        rec.log('warn', gate.keptWarning)
      }
    }
    await rec.finish('failed', errorInfo(err))
    this.publish('migration.failed', run, { error: err.message, migration: run.steps.find((s) => s.kind === 'migration' && s.status === 'failed')?.name ?? null })
  }

  /** A step that stopped on an error: `interrupted` when the gateway is shutting down (the error is then the cancellation), else `failed`. */
  private endFailedStep (execution: Execution, step: number, message: string): void {
    if (execution.aborting) execution.recorder.endStep(step, 'interrupted', `interrupted: ${STOPPED} (${message})`)
    else execution.recorder.endStep(step, 'failed', message)
  }

  /** Whatever had not started when the run stopped. */
  private skipPending (rec: RunRecorder): void {
    rec.run.steps.forEach((step, index) => {
      if (step.status === 'pending') rec.patchStep(index, { status: 'skipped', detail: step.detail ?? 'not run' })
    })
  }

  private publish (event: 'migration.started' | 'migration.succeeded' | 'migration.failed', run: RunRecord, data: Record<string, unknown>): void {
    this.ctx.events.publish(event, run.actor, { runId: run.id, dryRun: run.options.dryRun, status: run.status, ...data })
  }

  private async backup (rec: RunRecorder, step: number): Promise<void> {
    rec.startStep(step)
    rec.log('info', `backing up with pg_dump -Fc into ${this.options.backupDir}`)
    try {
      const result = await takeBackup(this.options.databaseUrl, this.options.backupDir, rec.run.id, this.options.pgDump)
      rec.run.backup = result
      rec.endStep(step, 'succeeded', `${result.file} (${result.sizeBytes} bytes)`)
      rec.log('info', `backup written: ${result.file} (${result.sizeBytes} bytes)`)
    } catch (err) {
      rec.endStep(step, 'failed', (err as Error).message)
      throw new errors.DRAWBRIDGE_ERR_DATABASE(`backup failed, nothing was applied: ${(err as Error).message}`)
    }
  }

  private hooks (rec: RunRecorder, step: number): ExecuteHooks {
    return {
      log: (level, msg) => { rec.log(level, msg) },
      attempt: (n) => { rec.patchStep(step, { attempts: n }) }
    }
  }

  private executeOptions (opts: RunOptions): ExecuteOptions {
    return { lockRetries: opts.lockRetries, backoffMs: this.options.retryBackoffMs ?? 250 }
  }

  private checkAbort (execution: Execution, lock: RunLock | null): void {
    if (execution.aborting) throw new RunAborted('gateway shutting down')
    if (lock?.lost === true) throw new errors.DRAWBRIDGE_ERR_DATABASE('lost the run lock (its connection broke); stopped before the next migration')
  }

  /** The page's "step 3 of 5" and, with a rehearsal's durations, its estimate. */
  private progress (rec: RunRecorder, selected: MigrationFile[], durations: ReadonlyMap<string, number> | null): RunProgress {
    const progress = new RunProgress(this.ctx, rec.run.id, selected.map((f) => f.name), durations)
    const ms = progress.remainingMs(0)
    if (ms !== null) rec.log('info', `a rehearsal of these files took ${Math.round(ms / 100) / 10} s: the page shows that as the estimate`)
    return progress
  }

  private async applyAll (execution: Execution, client: pg.Client, lock: RunLock, prepared: Prepared[], progress: RunProgress | null): Promise<void> {
    const rec = execution.recorder
    const run = rec.run
    const tracking = await this.db.trackingTable()
    for (let i = 0; i < prepared.length; i++) {
      const p = prepared[i] as Prepared
      this.checkAbort(execution, lock)
      await progress?.at(i)
      rec.startStep(p.step)
      const mode = p.file.directives.noTransaction ? 'without a transaction' : 'in a transaction'
      rec.log('info', `${p.file.name}: applying (${p.statements.length} statement(s), ${mode})`)
      const started = Date.now()
      const record = async (c: pg.Client): Promise<void> => {
        await recordApplied(c, tracking, { name: p.file.name, checksum: p.file.checksum, durationMs: Date.now() - started, actor: run.actor, runId: run.id })
      }
      try {
        if (p.file.directives.noTransaction) {
          const dropped = await applyWithoutTransaction(client, p.file, p.statements, record, this.executeOptions(run.options), this.hooks(rec, p.step))
          if (dropped.length > 0) rec.log('warn', `${p.file.name}: dropped invalid index(es) ${dropped.join(', ')} before it succeeded`)
        } else {
          await applyInTransaction(client, p.file, p.statements, record, this.executeOptions(run.options), this.hooks(rec, p.step))
        }
      } catch (err) {
        const message = err instanceof MigrationFailure ? err.message : `${p.file.name}: ${(err as Error).message}`
        this.endFailedStep(execution, p.step, message)
        rec.log('error', `${p.file.name}: failed${p.file.directives.noTransaction ? ' (no transaction: statements before the failing one stay applied)' : ', rolled back'}`)
        throw new errors.DRAWBRIDGE_ERR_DATABASE(message)
      }
      rec.endStep(p.step, 'succeeded', `applied in ${Date.now() - started} ms`)
      rec.log('info', `${p.file.name}: applied in ${Date.now() - started} ms`)
      for (const flag of p.flagSteps) await this.activateFlag(rec, flag.step, flag.key)
    }
  }

  /** After the migration committed, never before: new code must not see an old schema. */
  private async activateFlag (rec: RunRecorder, step: number, key: string): Promise<void> {
    rec.startStep(step)
    try {
      await setFlagEnabled(this.ctx, `migration-run:${rec.run.id}`, key, true)
      rec.endStep(step, 'succeeded', `flag ${key} enabled`)
      rec.log('info', `flag ${key} enabled`)
    } catch (err) {
      rec.endStep(step, 'failed', (err as Error).message)
      // The migration is committed; the run stops here so the operator sees the flag is not on.
      throw err
    }
  }

  private async dryRun (execution: Execution, client: pg.Client, prepared: Prepared[]): Promise<void> {
    const rec = execution.recorder
    await client.query('BEGIN')
    try {
      for (let i = 0; i < prepared.length; i++) {
        const p = prepared[i] as Prepared
        this.checkAbort(execution, null)
        if (p.file.directives.noTransaction) {
          rec.endStep(p.step, 'skipped', 'not dry-runnable: runs outside a transaction (-- drawbridge:no-transaction)')
          rec.log('warn', `${p.file.name}: not dry-runnable (no-transaction); skipped`)
          continue
        }
        rec.startStep(p.step)
        const started = Date.now()
        try {
          await applyDryRun(client, p.file, p.statements, this.executeOptions(rec.run.options), this.hooks(rec, p.step))
        } catch (err) {
          const message = err instanceof MigrationFailure ? err.message : `${p.file.name}: ${(err as Error).message}`
          this.endFailedStep(execution, p.step, message)
          rec.log('error', `${p.file.name}: would fail: ${message}`)
          throw new errors.DRAWBRIDGE_ERR_DATABASE(message)
        }
        const ms = Date.now() - started
        rec.endStep(p.step, 'rolled-back', `executed in ${ms} ms, then rolled back`)
        rec.log('info', `${p.file.name}: ok in ${ms} ms (rolled back)`)
        for (const key of p.file.directives.activates) {
          const known = Object.hasOwn((await this.ctx.store.load()).flags, key)
          rec.log(known ? 'info' : 'warn', known ? `would enable flag ${key}` : `would enable flag ${key}, which does not exist`)
        }
      }
    } finally {
      await client.query('ROLLBACK').catch(() => {})
    }
    rec.log('info', 'dry run finished: everything rolled back, nothing recorded')
  }
}
