import { performance } from 'node:perf_hooks'
import type pg from 'pg'
import { errors, isDrawbridgeError } from '../errors.js'
import { analyzeStatements } from './analyzer.js'
import { LockObserver } from './lock-observer.js'
import { backendPid, connectMigrationClient, MigrationDb } from './migration-db.js'
import type { MigrationFile } from './migration-files.js'
import { planMigrations } from './migration-status.js'
import { rehearseMigration } from './rehearsal-measure.js'
import type { RehearsalRecorder } from './rehearsal-recorder.js'
import { formatDuration } from './rehearsal-verdict.js'
import { DEFAULT_RUN_OPTIONS } from './run-types.js'
import { localeOf, ScratchDatabase, type PgTools } from './scratch-database.js'
import { loadParser, splitStatements } from './sql-statements.js'

/** What every rehearsal of this gateway shares. */
export interface RehearsalSettings {
  /** The live database: only ever read (pg_dump, a catalog query). */
  databaseUrl: string
  /** Where scratch databases are made; the live database's server when not set. */
  rehearsalDatabaseUrl: string | undefined
  tools: PgTools
  /** How often pg_locks is polled while a statement runs. */
  lockPollMs: number
}

/** One rehearsal as it executes: what close() needs to stop it. */
export interface RehearsalJob {
  recorder: RehearsalRecorder
  /** The migration files as read when the rehearsal was asked for. */
  files: MigrationFile[]
  /** With source backup: the file's full path. */
  backupPath: string | null
  timeouts: { lockTimeoutMs: number, statementTimeoutMs: number }
  abort: AbortController
  observer: LockObserver | null
  done: Promise<void>
}

const INTERRUPTED = 'gateway shutting down: the rehearsal was stopped'

function hostOf (url: string): string {
  try {
    return new URL(url).host
  } catch {
    return 'the server'
  }
}

function seconds (startedAt: number): string {
  return formatDuration(performance.now() - startedAt)
}

function checkAbort (job: RehearsalJob): void {
  if (job.abort.signal.aborted) throw new errors.DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED(INTERRUPTED)
}

/**
 * A scratch copy of the live database (or of a backup), then the pending
 * migrations applied to it as a run would apply them, measured statement by
 * statement; the copy dropped unless `keep`, also after a failure and at
 * shutdown. Never rejects: the outcome is in the record, set to its final
 * status only once the copy is gone, so a reader seeing `succeeded` or
 * `failed` can rely on it.
 */
export async function executeRehearsal (job: RehearsalJob, settings: RehearsalSettings): Promise<void> {
  const rec = job.recorder
  const record = rec.record
  let scratch: ScratchDatabase | null = null
  let scratchDb: MigrationDb | null = null
  let client: pg.Client | null = null
  let error: { code: string, message: string } | null = null
  try {
    rec.setStatus('running')
    const serverUrl = settings.rehearsalDatabaseUrl ?? settings.databaseUrl
    const locale = await localeOf(settings.databaseUrl)
    checkAbort(job)
    scratch = await ScratchDatabase.create(serverUrl, record.database, locale,
      `drawbridge rehearsal ${record.id} by ${record.actor}: a scratch copy, ${record.keep ? 'kept on request (drop it when done)' : 'dropped when the rehearsal ends'}`,
      (msg) => { rec.log('warn', msg) })
    rec.log('info', `scratch database ${record.database} created on ${hostOf(serverUrl)}`)

    let started = performance.now()
    if (job.backupPath === null) {
      rec.log('info', 'copying the live database (read-only pg_dump piped into pg_restore)')
      await scratch.fillFromLive(settings.databaseUrl, settings.tools, job.abort.signal)
    } else {
      rec.log('info', `restoring the backup ${record.backup ?? ''} (pg_restore)`)
      await scratch.fillFromFile(job.backupPath, settings.tools, job.abort.signal)
    }
    rec.log('info', `copy restored in ${seconds(started)}`)
    checkAbort(job)
    started = performance.now()
    await scratch.settle()
    rec.log('info', `VACUUM ANALYZE of the copy in ${seconds(started)} (statistics and visibility as on a live database)`)
    checkAbort(job)

    scratchDb = new MigrationDb(scratch.url)
    const trackingTable = await scratchDb.trackingTable()
    const plan = planMigrations(job.files, await scratchDb.listApplied())
    if (plan.drifted.length > 0) {
      throw new errors.DRAWBRIDGE_ERR_MIGRATION_DRIFT(`${plan.drifted.map((d) => d.name).join(', ')} (a run would refuse to start: restore the files as they were applied)`)
    }
    record.pending = plan.pending.length
    await loadParser()
    const prepared = plan.pending.map((file) => ({ file, statements: splitStatements(file.sql) }))
    record.findings = prepared.flatMap((p) => analyzeStatements(p.file, p.statements))
    if (prepared.length === 0) {
      rec.log('info', 'nothing to rehearse: every migration is applied on the copy')
      return
    }
    rec.log('info', `rehearsing ${prepared.length} migration(s): ${prepared.map((p) => p.file.name).join(', ')}`)

    client = await connectMigrationClient(scratch.url, job.timeouts, (err) => { rec.log('warn', `migration connection: ${err.message}`) })
    const pid = await backendPid(client)
    if (pid === null) throw new errors.DRAWBRIDGE_ERR_DATABASE('could not read the migration connection\'s backend pid')
    job.observer = await LockObserver.connect(scratch.url, pid, settings.lockPollMs, (err) => { rec.log('warn', `lock observer connection: ${err.message}`) })
    const measure = {
      client,
      observer: job.observer,
      trackingTable,
      executeOptions: { lockRetries: DEFAULT_RUN_OPTIONS.lockRetries, backoffMs: 250 },
      actor: `rehearsal:${record.id}`,
      rehearsalId: record.id,
      log: (level: 'info' | 'warn' | 'error', msg: string) => { rec.log(level, msg) },
      stopped: () => job.abort.signal.aborted
    }
    for (const p of prepared) {
      checkAbort(job)
      rec.log('info', `${p.file.name}: applying (${p.statements.length} statement(s), ${p.file.directives.noTransaction ? 'without a transaction' : 'in a transaction'})`)
      const migration = await rehearseMigration(measure, p.file, p.statements)
      rec.addMigration(migration)
      if (migration.error !== null) {
        rec.log('error', `${p.file.name}: failed: ${migration.error}`)
        throw new errors.DRAWBRIDGE_ERR_DATABASE(migration.error)
      }
      rec.log('info', `${p.file.name}: applied in ${formatDuration(migration.ms)}: ${migration.verdict}`)
    }
    if (job.observer.problem !== null) rec.log('warn', `lock measurements may be incomplete: ${job.observer.problem}`)
  } catch (err) {
    const e = err as Error & { code?: string }
    error = job.abort.signal.aborted
      ? { code: 'DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED', message: `${INTERRUPTED} (${e.message})` }
      : { code: isDrawbridgeError(err) ? err.code : 'DRAWBRIDGE_ERR_DATABASE', message: e.message }
    rec.log('error', error.message)
  } finally {
    await job.observer?.close()
    await client?.end().catch(() => {})
    await scratchDb?.close().catch(() => {})
    if (scratch !== null) await dispose(rec, scratch)
    rec.finish(error === null ? 'succeeded' : 'failed', error)
  }
}

async function dispose (rec: RehearsalRecorder, scratch: ScratchDatabase): Promise<void> {
  if (rec.record.keep) {
    rec.log('info', `scratch database ${scratch.name} kept (keep: true); drop it with: DROP DATABASE ${scratch.name}`)
    return
  }
  try {
    await scratch.drop()
    rec.record.dropped = true
    rec.log('info', `scratch database ${scratch.name} dropped`)
  } catch (err) {
    rec.log('error', `could not drop the scratch database ${scratch.name}: ${(err as Error).message}; drop it by hand`)
  }
}
