import type { Logger } from 'pino'
import { Listeners } from '../state/listeners.js'
import type { RunStore } from './run-store.js'
import type { RunLogLine, RunRecord, RunStatus, RunStep, StepKind, StepStatus } from './run-types.js'

export type RunEvent =
  | { type: 'log', line: RunLogLine }
  | { type: 'step', index: number, step: RunStep }
  | { type: 'status', status: RunStatus }
  | { type: 'end', run: RunRecord }

/**
 * The live state of a run executing in this process: every change is pushed
 * to listeners (the SSE streams) at once and written to the runs table in the
 * background, coalesced, so a slow database never slows the run and a reader
 * on another replica sees progress within one write.
 */
export class RunRecorder {
  private readonly listeners: Listeners<RunEvent>
  private writing: Promise<void> | null = null
  private dirty = false
  /** Set once `end` went out: a later subscriber would wait for it forever. */
  private endSent = false

  constructor (readonly run: RunRecord, private readonly store: RunStore, private readonly logger: Logger) {
    this.listeners = new Listeners((err) => { this.logger.error({ err }, 'migration run listener failed') })
  }

  get ended (): boolean { return this.endSent }

  subscribe (listener: (event: RunEvent) => void): () => void {
    return this.listeners.add(listener)
  }

  private emit (event: RunEvent): void {
    this.listeners.emit(event)
  }

  log (level: RunLogLine['level'], msg: string): void {
    const line = { at: new Date().toISOString(), level, msg }
    this.run.log.push(line)
    this.logger[level]({ runId: this.run.id }, msg)
    this.emit({ type: 'log', line })
    this.save()
  }

  addStep (kind: StepKind, name: string, detail: string | null = null): number {
    const step: RunStep = { kind, name, status: 'pending', startedAt: null, finishedAt: null, durationMs: null, attempts: 0, detail }
    this.run.steps.push(step)
    const index = this.run.steps.length - 1
    this.emit({ type: 'step', index, step })
    this.save()
    return index
  }

  startStep (index: number): void {
    this.patchStep(index, { status: 'running', startedAt: new Date().toISOString() })
  }

  /** Ends a step; the duration is measured from its start. */
  endStep (index: number, status: StepStatus, detail: string | null = null): void {
    const step = this.run.steps[index]
    if (step === undefined) return
    const now = Date.now()
    const durationMs = step.startedAt === null ? null : now - Date.parse(step.startedAt)
    this.patchStep(index, { status, finishedAt: new Date(now).toISOString(), durationMs, ...(detail === null ? {} : { detail }) })
  }

  patchStep (index: number, patch: Partial<RunStep>): void {
    const step = this.run.steps[index]
    if (step === undefined) return
    Object.assign(step, patch)
    this.emit({ type: 'step', index, step })
    this.save()
  }

  setStatus (status: RunStatus): void {
    this.run.status = status
    if (status === 'running' && this.run.startedAt === null) this.run.startedAt = new Date().toISOString()
    this.emit({ type: 'status', status })
    this.save()
  }

  /** Final status, timings, and the `end` event; resolves once the row is written. */
  async finish (status: RunStatus, error: RunRecord['error'] = null): Promise<void> {
    const now = Date.now()
    this.run.error = error
    this.run.finishedAt = new Date(now).toISOString()
    this.run.durationMs = this.run.startedAt === null ? 0 : now - Date.parse(this.run.startedAt)
    this.setStatus(status)
    await this.flush()
    this.endSent = true
    this.emit({ type: 'end', run: this.run })
    this.listeners.clear()
  }

  private save (): void {
    this.dirty = true
    this.writing ??= this.writeLoop()
  }

  private async writeLoop (): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false
        try {
          await this.store.update(this.run)
        } catch (err) {
          // The run goes on; the next change (or finish) writes again.
          this.dirty = true
          this.logger.warn({ err, runId: this.run.id }, 'could not record migration run progress')
          break
        }
      }
    } finally {
      this.writing = null
    }
  }

  async flush (): Promise<void> {
    while (this.writing !== null) await this.writing
    if (this.dirty) {
      this.writing = this.writeLoop()
      await this.writing
    }
  }
}
