import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from 'pino'
import { errors } from '../errors.js'
import { checkBudgets, type StoreBudgets } from './budgets.js'
import { initialState } from './initial-state.js'
import { Listeners } from './listeners.js'
import { parseState, withOwnDicts } from './state-codec.js'
import { checkWritable } from './state-check.js'
import { TaskChain } from './task-chain.js'
import type { SharedState } from './types.js'

/**
 * What the stores shared by several replicas (Redis, PostgreSQL) have in
 * common: the whole SharedState is one JSON document with a version; writes
 * are compare-and-set on that version, so writers on different replicas never
 * lose an update and the version only grows; each write publishes the new
 * version (pub/sub, NOTIFY) and replicas fetch the document; a periodic
 * version check heals missed notices. A backend only says how to read and
 * write the document where it lives.
 */

/** Compare-and-set attempts before an update gives up; conflicts need writers on several replicas at once. */
export const MAX_CAS_ATTEMPTS = 50

export interface StoredDocument {
  json: string
  /** The version the backend keeps beside the document, when it keeps one: it must match the document's. */
  version?: number
}

export interface DocumentBackend {
  /** Where the document lives, for messages: `redis key drawbridge:state`, `postgres table drawbridge.state`. */
  readonly where: string
  /** The stored version alone (one cheap read); null when there is no document. */
  readVersion (): Promise<number | null>
  readDocument (): Promise<StoredDocument | null>
  /** Writes `json` (at `version`) if the stored version is still `expected`, and publishes it; false when another writer got there first. */
  compareAndSet (expected: number, json: string, version: number): Promise<boolean>
  /** Writes `json` if nothing or an older version is stored (and publishes it); answers what is stored afterwards. */
  putIfNewer (json: string, version: number): Promise<StoredDocument>
}

export interface SharedDocumentOptions {
  backend: DocumentBackend
  logger: Logger
  budgets: StoreBudgets
  /** Runs one backend call: waits for (or refuses at once without) a connection, and turns failures into a 503. */
  access: <T>(operation: () => Promise<T>) => Promise<T>
  /** False while the connection is known to be down: resyncs wait for the one the reconnect makes. */
  connected: () => boolean
  /** Put into a store that holds no document, before this process saw any: the replica's cached state (state-cache.ts). */
  seed?: SharedState | null | undefined
}

/**
 * The commit of `next` after `current`: user-keyed dictionaries without a
 * prototype, the version after `current`'s (whatever the mutator set),
 * checked against the state schema and the size budgets (413 naming the
 * budget). Throws without writing anything when a check fails.
 */
export function commitOf (current: SharedState, next: SharedState, budgets: StoreBudgets): { committed: SharedState, json: string } {
  const committed: SharedState = { ...withOwnDicts(next), version: current.version + 1 }
  checkWritable(current, committed)
  const json = JSON.stringify(committed)
  checkBudgets(current, committed, budgets, json)
  return { committed, json }
}

/** A change notice that carries only a version, as writers publish it. */
export function noticeVersion (message: string): number | null {
  return /^\d{1,16}$/.test(message) ? Number(message) : null
}

/**
 * One replica's view of the shared document. `update` may run its mutator
 * more than once (after a conflict), always on a fresh copy of the newest
 * state: mutators must not have side effects.
 */
export class SharedDocument {
  private readonly backend: DocumentBackend
  private readonly logger: Logger
  private readonly budgets: StoreBudgets
  private readonly access: SharedDocumentOptions['access']
  private readonly connected: () => boolean
  private readonly listeners: Listeners<SharedState>
  private readonly writes = new TaskChain()
  private seed: SharedState | null
  /** Newest document this process has seen. */
  private latest: SharedState | null = null
  /** Why the stored document could not be read, until a read succeeds (for /readyz). */
  private unreadable: string | null = null
  private resyncRunning = false
  private resyncAgain = false
  /** A notice announced a newer version: the next resync fetches without comparing versions first. */
  private fetchNext = false
  private closed = false

  constructor (options: SharedDocumentOptions) {
    this.backend = options.backend
    this.logger = options.logger
    this.budgets = options.budgets
    this.access = options.access
    this.connected = options.connected
    this.seed = options.seed ?? null
    this.listeners = new Listeners((err) => { this.logger.error({ err }, 'state store listener failed') })
  }

  /** Why the stored document is refused, or null. */
  get problem (): string | null { return this.unreadable }

  subscribe (listener: (state: SharedState) => void): () => void {
    return this.listeners.add(listener)
  }

  async load (): Promise<SharedState> {
    const state = await this.access(() => this.readOrCreate())
    this.observe(state)
    return state
  }

  update (mutate: (draft: SharedState) => SharedState | Promise<SharedState>): Promise<SharedState> {
    // Serialised locally so this replica's own writers do not conflict with
    // each other; the compare-and-set handles the other replicas.
    return this.writes.run(async () => {
      for (let attempt = 1; ; attempt++) {
        // First try on the newest state seen here, which is the stored one
        // unless another replica just wrote: then the compare-and-set fails
        // and the retry reads the store. Saves a read per write.
        const current = attempt === 1 && this.latest !== null && this.unreadable === null
          ? this.latest
          : await this.access(() => this.readOrCreate())
        const { committed, json } = commitOf(current, await mutate(structuredClone(current)), this.budgets)
        if (await this.access(() => this.backend.compareAndSet(current.version, json, committed.version))) {
          this.observe(committed)
          return committed
        }
        if (attempt >= MAX_CAS_ATTEMPTS) {
          throw new errors.DRAWBRIDGE_ERR_CONFLICT('the state kept changing under this update; try again')
        }
        await sleep(Math.floor(Math.random() * 5 * Math.min(attempt, 10)))
      }
    })
  }

  /** A change notice: a version newer than ours is fetched; anything else is not a version (false). */
  onNotice (message: string): boolean {
    const version = noticeVersion(message)
    if (version === null) return false
    if (this.latest === null || version > this.latest.version) this.resync(true)
    return true
  }

  /** Hands a document to the listeners if it is newer than any seen, so a late notice never rolls state back. */
  observe (state: SharedState): void {
    if (this.latest !== null && state.version <= this.latest.version) return
    this.latest = state
    this.listeners.emit(state)
  }

  /**
   * Cheap check of the stored version; fetches the document only when it
   * differs from ours (at once with `known`: a notice said it does). Runs one
   * at a time; a call during a run runs once more after it.
   */
  resync (known = false): void {
    this.fetchNext ||= known
    if (this.resyncRunning) {
      this.resyncAgain = true
      return
    }
    this.resyncRunning = true
    this.resyncAgain = false
    const fetch = this.fetchNext
    this.fetchNext = false
    void this.resyncOnce(fetch).finally(() => {
      this.resyncRunning = false
      if (this.resyncAgain) this.resync()
    })
  }

  /** Refuses new writes, waits for the queued ones, and drops the listeners. */
  async close (): Promise<void> {
    this.closed = true
    await this.writes.close()
    this.listeners.clear()
  }

  /**
   * A lower version in the store than ours means the store lost data
   * (restarted without persistence, restored from an old snapshot): ours is
   * put back.
   */
  private async resyncOnce (fetch: boolean): Promise<void> {
    if (this.closed || !this.connected()) return
    const seen = this.latest
    try {
      await this.access(async () => {
        if (!fetch && seen !== null && await this.backend.readVersion() === seen.version) return
        const stored = await this.readOrCreate()
        if (seen !== null && stored.version < seen.version) {
          this.logger.warn({ stored: stored.version, held: seen.version }, 'the store holds an older state than this replica; restoring the newer one')
          await this.backend.putIfNewer(JSON.stringify(seen), seen.version)
          return
        }
        this.observe(stored)
      })
    } catch (err) {
      this.logger.debug({ err }, 'state resync failed; will retry')
    }
  }

  /** The stored document; when there is none, restores the newest one seen here (or the cached one) or creates the first. */
  private async readOrCreate (): Promise<SharedState> {
    const stored = await this.backend.readDocument()
    if (stored !== null) return this.parse(stored)
    const seed = this.latest ?? this.seed ?? initialState()
    if (seed !== this.latest && seed === this.seed) {
      this.logger.warn({ version: seed.version }, 'the store holds no state; restoring the state this replica had cached')
    } else if (this.latest !== null) {
      this.logger.warn({ version: seed.version }, 'the store holds no state; restoring the last state this replica had')
    }
    const state = this.parse(await this.backend.putIfNewer(JSON.stringify(seed), seed.version))
    this.seed = null
    return state
  }

  private parse (stored: StoredDocument): SharedState {
    try {
      const state = parseState(stored.json)
      if (stored.version !== undefined && stored.version !== state.version) {
        throw new Error(`the version beside it is ${stored.version}, the document's own is ${state.version}`)
      }
      this.unreadable = null
      return state
    } catch (err) {
      const problem = `${this.backend.where} does not hold a valid state (${(err as Error).message})`
      if (problem !== this.unreadable) this.logger.error({ problem, serving: this.latest?.version ?? null }, 'the stored state is unreadable; keeping the last good state')
      this.unreadable = problem
      throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(problem)
    }
  }
}

/**
 * The StateStore methods a shared store hands to its SharedDocument as they
 * are; the subclass connects, and answers health, audit and close.
 */
export abstract class SharedDocumentStore {
  protected abstract readonly doc: SharedDocument

  async load (): Promise<SharedState> {
    return await this.doc.load()
  }

  update (mutate: (draft: SharedState) => SharedState | Promise<SharedState>): Promise<SharedState> {
    return this.doc.update(mutate)
  }

  subscribe (listener: (state: SharedState) => void): () => void {
    return this.doc.subscribe(listener)
  }
}
