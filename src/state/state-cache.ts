import { readFileSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import type { Logger } from 'pino'
import { decodeState } from './state-codec.js'
import { writeFileAtomic } from './state-file.js'
import { stateProblem } from './state-check.js'
import type { SharedState } from './types.js'

/** A state read back from the cache, and when this replica wrote it. */
export interface CachedState {
  state: SharedState
  savedAt: string
}

const FORMAT = 1

/**
 * This replica's last applied state on local disk (`stateCache`), for a
 * replica that starts while its shared store is unreachable: it serves what
 * it knew rather than the fail policy (see StateHolder). The file is a copy,
 * never a source of truth: the store's state replaces it as soon as the store
 * answers.
 *
 * Written after each applied snapshot, off the request path: the write is
 * queued, runs after the current turn of the event loop, and writes only the
 * newest snapshot when several arrived meanwhile; replaced atomically (a
 * reader or a crash sees the old file or the new one, never a mix), mode 0600
 * (it holds the signing key and the bypass secret). Read back, it must pass
 * the state schema like any snapshot. Nothing here throws: an unreadable or
 * corrupt cache is logged and ignored, a failed write is logged once per
 * distinct reason.
 */
export class StateCache {
  readonly path: string
  private pending: SharedState | null = null
  private writing: Promise<void> | null = null
  private lastError: string | null = null
  private initial: CachedState | null | undefined

  /** Throws ConfigError when the directory that should hold the file does not exist (checked at start, like the state file's). */
  constructor (path: string, private readonly logger: Logger) {
    this.path = resolve(path)
    let isDir = false
    try { isDir = statSync(dirname(this.path)).isDirectory() } catch {}
    if (!isDir) throw new ConfigError('stateCache', `directory ${dirname(this.path)} of ${path} does not exist`)
  }

  /**
   * The state cached when this process started, or null (none, or refused:
   * logged). Read once, synchronously, before anything listens; later calls
   * answer the same (the store's seed and the holder both ask).
   */
  atStart (): CachedState | null {
    if (this.initial === undefined) this.initial = this.read()
    return this.initial
  }

  private read (): CachedState | null {
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT') this.logger.warn({ stateCache: this.path, code }, 'state cache unreadable; ignoring it')
      return null
    }
    try {
      const doc = JSON.parse(text) as { drawbridgeStateCache?: unknown, savedAt?: unknown, state?: unknown } | null
      if (typeof doc !== 'object' || doc === null || doc.drawbridgeStateCache !== FORMAT) throw new Error(`not a drawbridge state cache (format ${FORMAT} expected)`)
      if (typeof doc.savedAt !== 'string' || Number.isNaN(Date.parse(doc.savedAt))) throw new Error('savedAt is not a time')
      const state = decodeState(doc.state)
      const problem = stateProblem(state)
      if (problem !== null) throw new Error(problem)
      return { state, savedAt: doc.savedAt }
    } catch (err) {
      this.logger.error({ stateCache: this.path, problem: (err as Error).message }, 'state cache is corrupt; ignoring it (it is rewritten from the store)')
      return null
    }
  }

  /** Queues `state` to be written; a newer call before the write starts replaces it. */
  save (state: SharedState): void {
    this.pending = state
    this.writing ??= this.drain()
  }

  /** Resolves when every queued write has finished (or failed). */
  async flush (): Promise<void> {
    while (this.writing !== null) await this.writing
  }

  private async drain (): Promise<void> {
    // After the turn that applied the snapshot: the gateway's compilers run first.
    await new Promise((resolve) => setImmediate(resolve))
    try {
      while (this.pending !== null) {
        const state = this.pending
        this.pending = null
        await this.write(state)
      }
    } finally {
      this.writing = null
    }
  }

  private async write (state: SharedState): Promise<void> {
    try {
      await writeFileAtomic(this.path, JSON.stringify({ drawbridgeStateCache: FORMAT, savedAt: new Date().toISOString(), state }) + '\n')
      if (this.lastError !== null) this.logger.info({ stateCache: this.path }, 'state cache written again')
      this.lastError = null
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      if (code !== this.lastError) this.logger.warn({ stateCache: this.path, code }, 'state cache not written; a restart during a store outage would not find this state')
      this.lastError = code
    }
  }
}
