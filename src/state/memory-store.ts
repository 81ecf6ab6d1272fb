import { resolve } from 'node:path'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { Logger } from 'pino'
import { errors } from '../errors.js'
import { initialState } from './initial-state.js'
import { auditEntriesKept, DEFAULT_BUDGETS, jsonBytes, type StoreBudgets } from './budgets.js'
import { commitOf } from './shared-document.js'
import { TaskChain } from './task-chain.js'
import { encodeStateFile, readStateFile, StateFileInvalid, writeFileAtomic } from './state-file.js'
import { acquireStateFileLock, type StateFileLock } from './state-file-lock.js'
import type { AuditEntry, SharedState, StateStore, StoreHealth } from './types.js'
import { Listeners } from './listeners.js'

export interface MemoryStoreOptions {
  logger: Logger
  /** Persist here after every write; load from here at start. None: memory only. */
  stateFile?: string | undefined
  /** Size budgets of the state and the audit log (DEFAULT_BUDGETS when absent). */
  budgets?: Partial<StoreBudgets>
}

/**
 * The embedded store, for a single gateway process. Every write goes through
 * one promise chain, so concurrent `update` calls run one after the other and
 * none is lost; with a state file, a write is committed (and listeners told)
 * only once the file has been replaced atomically.
 */
export class MemoryStore implements StateStore {
  private state: SharedState | null = null
  private audit: AuditEntry[] = []
  /** JSON bytes of each audit entry, in the same order, so trimming never re-serialises the log. */
  private auditSizes: number[] = []
  private readonly listeners: Listeners<SharedState>
  private readonly writes = new TaskChain()
  private readonly stateFile: string | null
  private readonly budgets: StoreBudgets
  private readonly logger: Logger
  private writeError: string | null = null
  /** Why the state file cannot be used; while set, nothing is loaded from or written to it. */
  private fileInvalid: string | null = null
  private lock: StateFileLock | null = null

  /**
   * Throws ConfigError when the state file is unreadable, in a missing
   * directory, or owned by another process. A corrupt file does not throw:
   * load and writes are refused (503, naming the file) until it is repaired or removed.
   */
  constructor (options: MemoryStoreOptions) {
    this.logger = options.logger
    this.listeners = new Listeners((err) => { this.logger.error({ err }, 'state store listener failed') })
    this.budgets = { ...DEFAULT_BUDGETS, ...options.budgets }
    this.stateFile = options.stateFile === undefined ? null : resolve(options.stateFile)
    if (this.stateFile !== null) {
      // Before reading: the owner may be writing it.
      this.lock = acquireStateFileLock(this.stateFile, this.logger)
      try {
        this.readFile(this.stateFile)
      } catch (err) {
        this.lock.release()
        throw err
      }
    }
  }

  private readFile (path: string): void {
    let contents
    try {
      contents = readStateFile(path)
    } catch (err) {
      if (!(err instanceof StateFileInvalid)) throw err
      if (this.fileInvalid !== err.message) this.logger.error({ stateFile: path, problem: err.problem }, 'state file is corrupt; serving the fail policy and refusing writes until it is repaired or removed')
      this.fileInvalid = err.message
      return
    }
    this.fileInvalid = null
    if (contents !== null) {
      this.state = contents.state
      const sizes = contents.audit.map(jsonBytes)
      const kept = auditEntriesKept(sizes, this.budgets)
      this.audit = contents.audit.slice(0, kept)
      this.auditSizes = sizes.slice(0, kept)
    }
  }

  /** While the file is corrupt, rereads it (an operator may have fixed it) and refuses if it still is. */
  private checkFile (): void {
    if (this.fileInvalid === null || this.stateFile === null) return
    try {
      this.readFile(this.stateFile)
    } catch (err) {
      this.fileInvalid = (err as Error).message
    }
    if (this.fileInvalid !== null) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(this.fileInvalid)
  }

  load (): Promise<SharedState> {
    return this.serial(async () => {
      this.checkFile()
      if (this.state !== null) return this.state
      const state = initialState()
      // Persisted at once so the signing key (and with it every bypass cookie)
      // survives a restart even if nothing is ever written.
      await this.persist(state, this.audit)
      this.state = state
      return state
    })
  }

  update (mutate: (draft: SharedState) => SharedState | Promise<SharedState>): Promise<SharedState> {
    return this.serial(async () => {
      this.checkFile()
      const current = this.state ?? initialState()
      const next = await mutate(structuredClone(current))
      // Checking, persisting and compiling a large state each take tens of
      // ms: a turn of the event loop between them lets gateway requests through.
      await yieldToEventLoop()
      const { committed } = commitOf(current, next, this.budgets)
      await this.persist(committed, this.audit)
      await yieldToEventLoop()
      this.state = committed
      this.notify(committed)
      return committed
    })
  }

  subscribe (listener: (state: SharedState) => void): () => void {
    return this.listeners.add(listener)
  }

  appendAudit (entry: AuditEntry): Promise<void> {
    return this.serial(async () => {
      this.checkFile()
      const sizes = [jsonBytes(entry), ...this.auditSizes]
      const kept = auditEntriesKept(sizes, this.budgets)
      const audit = [entry, ...this.audit].slice(0, kept)
      const state = this.state ?? initialState()
      await this.persist(state, audit)
      this.state = state
      this.audit = audit
      this.auditSizes = sizes.slice(0, kept)
    })
  }

  async listAudit (limit: number): Promise<AuditEntry[]> {
    return this.audit.slice(0, Math.max(0, limit))
  }

  health (): StoreHealth {
    if (this.fileInvalid !== null) return { ok: false, reason: this.fileInvalid }
    if (this.writeError !== null) return { ok: false, reason: `state file not writable: ${this.writeError}` }
    return { ok: true, reason: null }
  }

  async close (): Promise<void> {
    this.listeners.clear()
    await this.writes.close()
    this.lock?.release()
  }

  /** Runs `task` after every task queued before it; a failed task does not stop the chain. */
  private serial<T> (task: () => Promise<T>): Promise<T> {
    return this.writes.run(task)
  }

  private async persist (state: SharedState, audit: AuditEntry[]): Promise<void> {
    if (this.stateFile === null) return
    try {
      await writeFileAtomic(this.stateFile, encodeStateFile({ state, audit }))
      this.writeError = null
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
      this.writeError = code
      this.logger.error({ err, stateFile: this.stateFile }, 'state file write failed')
      throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(`state file ${this.stateFile} not writable (${code})`)
    }
  }

  private notify (state: SharedState): void {
    this.listeners.emit(state)
  }
}
