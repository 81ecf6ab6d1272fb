import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { errors } from '../errors.js'
import { resolveBackupFile } from './backup.js'
import { readMigrations, type MigrationFile } from './migration-files.js'
import { RehearsalRecorder } from './rehearsal-recorder.js'
import { executeRehearsal, type RehearsalJob, type RehearsalSettings } from './rehearsal-runner.js'
import type { RehearsalBody, RehearsalEvent, RehearsalRecord } from './rehearsal-types.js'
import { DEFAULT_RUN_OPTIONS } from './run-types.js'
import { ScratchDatabase } from './scratch-database.js'

/** Rehearsals running at once per gateway: each holds a full copy of the database on the server. */
const MAX_ACTIVE = 1
/** Finished rehearsals kept in memory (the oldest go first). */
const MAX_FINISHED = 20
/** A run requiring a rehearsal accepts one at most this old. */
export const REHEARSAL_MAX_AGE_MS = 24 * 3_600_000
/** At shutdown, the running statement is cancelled this often until the rehearsal ends. */
const CANCEL_EVERY_MS = 200
/** pg_locks is polled this often while a statement runs (see lock-observer.ts). */
const LOCK_POLL_MS = 10

export interface RehearsalServiceOptions {
  databaseUrl: string
  rehearsalDatabaseUrl?: string | undefined
  migrationsDir: string
  backupDir: string
  pgDump?: string | undefined
  pgRestore?: string | undefined
  lockPollMs?: number | undefined
  /** How long close() waits for a stopped rehearsal to drop its scratch database. */
  closeGraceMs?: number | undefined
}

/**
 * Rehearsals (CONTRACT section 8): started in the background, held in memory,
 * one at a time, the finished ones kept up to a bound. A run that requires a
 * rehearsal asks `matching` for one of exactly the files it would apply.
 */
export class RehearsalService {
  private readonly jobs = new Map<string, RehearsalJob>()
  private readonly settings: RehearsalSettings
  private closing = false

  constructor (private readonly options: RehearsalServiceOptions, private readonly logger: Logger) {
    this.settings = {
      databaseUrl: options.databaseUrl,
      rehearsalDatabaseUrl: options.rehearsalDatabaseUrl,
      tools: { pgDump: options.pgDump ?? 'pg_dump', pgRestore: options.pgRestore ?? 'pg_restore' },
      lockPollMs: options.lockPollMs ?? LOCK_POLL_MS
    }
  }

  /**
   * Checks the request and starts the rehearsal; resolves with its id once it
   * is queued. `runLocked`: whether a migration run holds the lock now (a
   * copy of live is refused then: pg_dump's ACCESS SHARE locks would make
   * the run's DDL wait, and the copy would catch the run half-way).
   */
  async start (body: RehearsalBody, actor: string, runLocked: () => Promise<boolean>): Promise<{ id: string }> {
    if (this.closing) throw new errors.DRAWBRIDGE_ERR_DATABASE('shutting down')
    const active = [...this.jobs.values()].filter((j) => !j.recorder.done)
    if (active.length >= MAX_ACTIVE) {
      const id = active[0]?.recorder.record.id ?? ''
      throw new errors.DRAWBRIDGE_ERR_REHEARSAL_BUSY(`${id} (one at a time; follow it on /v1/migrations/rehearsals/${id}/events)`)
    }
    const source = body.source ?? 'live'
    if (source === 'live' && body.backup !== undefined) throw new errors.DRAWBRIDGE_ERR_INVALID('backup: only with source "backup" (source is "live")')
    if (source === 'backup' && body.backup === undefined) throw new errors.DRAWBRIDGE_ERR_INVALID('backup: required with source "backup": the name of a pg_dump -Fc file in the backup directory')
    const backupPath = body.backup === undefined ? null : await resolveBackupFile(this.options.backupDir, body.backup)
    if (source === 'live' && await runLocked()) throw new errors.DRAWBRIDGE_ERR_MIGRATION_LOCKED()
    const files = await readMigrations(this.options.migrationsDir)

    const record: RehearsalRecord = {
      id: randomUUID(),
      status: 'queued',
      database: ScratchDatabase.newName(),
      source,
      backup: backupPath === null ? null : body.backup ?? null,
      keep: body.keep ?? false,
      lockPollMs: this.settings.lockPollMs,
      dropped: false,
      migrations: [],
      pending: null,
      findings: [],
      error: null,
      log: [],
      actor,
      createdAt: new Date().toISOString(),
      startedAt: null,
      finishedAt: null,
      durationMs: null
    }
    const job: RehearsalJob = {
      recorder: new RehearsalRecorder(record, this.logger.child({ component: 'rehearsal' })),
      files,
      backupPath,
      timeouts: {
        lockTimeoutMs: body.lockTimeoutMs ?? DEFAULT_RUN_OPTIONS.lockTimeoutMs,
        statementTimeoutMs: body.statementTimeoutMs ?? DEFAULT_RUN_OPTIONS.statementTimeoutMs
      },
      abort: new AbortController(),
      observer: null,
      done: Promise.resolve()
    }
    this.jobs.set(record.id, job)
    this.forgetOldest()
    job.done = executeRehearsal(job, this.settings)
      .catch((err: unknown) => { this.logger.error({ err, rehearsalId: record.id }, 'rehearsal crashed') })
    return { id: record.id }
  }

  private forgetOldest (): void {
    const finished = [...this.jobs.values()].filter((j) => j.recorder.done)
    for (const job of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED))) this.jobs.delete(job.recorder.record.id)
  }

  get (id: string): RehearsalRecord | null {
    return this.jobs.get(id)?.recorder.record ?? null
  }

  /** Newest first. */
  list (): RehearsalRecord[] {
    return [...this.jobs.values()].map((j) => j.recorder.record).reverse()
  }

  /** Follows a rehearsal that has not ended: the listener gets every later change, ending with `end`. */
  watch (id: string, listener: (event: RehearsalEvent) => void): { record: RehearsalRecord, unsubscribe: () => void } | null {
    const job = this.jobs.get(id)
    if (job === undefined || job.recorder.done) return null
    return { record: job.recorder.record, unsubscribe: job.recorder.subscribe(listener) }
  }

  /** Resolves when a rehearsal has ended (tests, callers without HTTP). */
  async wait (id: string): Promise<RehearsalRecord | null> {
    await this.jobs.get(id)?.done
    return this.get(id)
  }

  /**
   * The newest successful rehearsal, at most REHEARSAL_MAX_AGE_MS old, whose
   * first migrations are exactly `selected` (names and checksums, in order):
   * what a run about to apply `selected` was measured as.
   */
  matching (selected: Array<Pick<MigrationFile, 'name' | 'checksum'>>, now = Date.now()): RehearsalRecord | null {
    if (selected.length === 0) return null
    for (const record of this.list()) {
      if (record.status !== 'succeeded' || record.finishedAt === null || now - Date.parse(record.finishedAt) > REHEARSAL_MAX_AGE_MS) continue
      if (selected.length > record.migrations.length) continue
      if (selected.every((file, i) => record.migrations[i]?.name === file.name && record.migrations[i]?.checksum === file.checksum)) return record
    }
    return null
  }

  /**
   * Shutdown: stops what runs (its tools killed, its statement cancelled),
   * then waits for the scratch databases to be dropped. The cancel is
   * repeated until the rehearsal ends: one sent between two statements
   * would cancel nothing.
   */
  async close (): Promise<void> {
    this.closing = true
    const running = [...this.jobs.values()].filter((j) => !j.recorder.done)
    for (const job of running) job.abort.abort()
    const deadline = Date.now() + (this.options.closeGraceMs ?? 10_000)
    while (running.some((j) => !j.recorder.done) && Date.now() < deadline) {
      for (const job of running) if (!job.recorder.done) await job.observer?.cancelWatched().catch(() => {})
      await Promise.race([Promise.all(running.map(async (j) => await j.done)), new Promise((resolve) => setTimeout(resolve, CANCEL_EVERY_MS))])
    }
  }
}
