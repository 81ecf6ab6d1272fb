import type { Logger } from 'pino'
import { Listeners } from '../state/listeners.js'
import { isRehearsalDone, type RehearsalEvent, type RehearsalLogLine, type RehearsalMigration, type RehearsalRecord, type RehearsalStatus } from './rehearsal-types.js'

/** Log lines kept per rehearsal (the newest); the process log has them all. */
const MAX_LOG_LINES = 200

/**
 * The live state of one rehearsal: every change goes to the record (what GET
 * answers) and to listeners (the SSE streams) at once. Rehearsals live in
 * memory only: a scratch copy is a one-off measurement, not history.
 */
export class RehearsalRecorder {
  private readonly listeners: Listeners<RehearsalEvent>

  constructor (readonly record: RehearsalRecord, private readonly logger: Logger) {
    this.listeners = new Listeners((err) => { this.logger.error({ err }, 'rehearsal listener failed') })
  }

  get done (): boolean { return isRehearsalDone(this.record.status) }

  subscribe (listener: (event: RehearsalEvent) => void): () => void {
    return this.listeners.add(listener)
  }

  log (level: RehearsalLogLine['level'], msg: string): void {
    const line = { at: new Date().toISOString(), level, msg }
    this.record.log.push(line)
    if (this.record.log.length > MAX_LOG_LINES) this.record.log.shift()
    this.logger[level]({ rehearsalId: this.record.id }, msg)
    this.listeners.emit({ type: 'log', line })
  }

  setStatus (status: RehearsalStatus): void {
    this.record.status = status
    if (status === 'running' && this.record.startedAt === null) this.record.startedAt = new Date().toISOString()
    this.listeners.emit({ type: 'status', status })
  }

  addMigration (migration: RehearsalMigration): void {
    this.record.migrations.push(migration)
    this.listeners.emit({ type: 'migration', index: this.record.migrations.length - 1, migration })
  }

  finish (status: 'succeeded' | 'failed', error: RehearsalRecord['error'] = null): void {
    const now = Date.now()
    this.record.error = error
    this.record.finishedAt = new Date(now).toISOString()
    this.record.durationMs = this.record.startedAt === null ? 0 : now - Date.parse(this.record.startedAt)
    this.setStatus(status)
    this.listeners.emit({ type: 'end', rehearsal: this.record })
    this.listeners.clear()
  }
}
