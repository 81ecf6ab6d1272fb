import type { Logger } from 'pino'
import { IpcUnavailableError, type IpcPeer } from '../ipc/ipc-peer.js'
import { errors } from '../errors.js'
import { decodeState } from './state-codec.js'
import type { AuditEntry, SharedState, StateStore, StoreHealth } from './types.js'
import { Listeners } from './listeners.js'
import { TaskChain } from './task-chain.js'

/** Method and topic names shared with ipc-primary.ts. */
export const IPC_STATE = {
  load: 'state.load',
  cas: 'state.cas',
  appendAudit: 'audit.append',
  listAudit: 'audit.list',
  pushTopic: 'state'
} as const

/** What the primary answers to load and cas: the newest state, whether it took the write, and its store's health. */
export interface StateReply { state: SharedState, written?: boolean, health: StoreHealth }

export interface IpcStoreOptions {
  logger: Logger
  /** The channel to the cluster primary, which holds the embedded store. */
  primary: IpcPeer
  /** Periodic "what is the current state" to the primary, healing a missed push. */
  resyncIntervalMs: number
  /** How long a call waits for the primary before failing with 503. */
  requestTimeoutMs?: number
}

const DEFAULT_TIMEOUT_MS = 5000
/** Compare-and-set attempts; a conflict needs another worker writing at the same moment. */
const MAX_CAS_ATTEMPTS = 50

/**
 * A worker's store when the cluster runs on the embedded store: the primary
 * holds the real one (memory or state file) and this forwards to it over IPC,
 * with Redis pub/sub's guarantees. Every commit is pushed to all workers; a
 * snapshot reaches the listeners only when newer than any seen (a late push
 * never rolls state back); a periodic resync asks the primary for the current
 * state. Writes are compare-and-set on the version: the mutator runs here on a
 * copy of the newest state, the primary commits it only if nothing was
 * committed in between (it applies writes one at a time), and on a conflict
 * the mutator runs again on the state the primary answered with — so, as with
 * the Redis store, mutators must not have side effects.
 */
export class IpcStore implements StateStore {
  private readonly logger: Logger
  private readonly primary: IpcPeer
  private readonly timeoutMs: number
  private readonly listeners: Listeners<SharedState>
  private latest: SharedState | null = null
  private primaryHealth: StoreHealth = { ok: true, reason: null }
  /** Why the last call to the primary failed; null after one succeeds. */
  private unreachable: string | null = null
  private readonly writes = new TaskChain()
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor (options: IpcStoreOptions) {
    this.logger = options.logger
    this.listeners = new Listeners((err) => { this.logger.error({ err }, 'state store listener failed') })
    this.primary = options.primary
    this.timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS
    this.primary.onPush(IPC_STATE.pushTopic, (data) => { this.onPush(data) })
    this.timer = setInterval(() => { this.resync() }, options.resyncIntervalMs)
    this.timer.unref()
  }

  async load (): Promise<SharedState> {
    const reply = await this.call(IPC_STATE.load, null)
    this.observe(reply.state)
    return reply.state
  }

  update (mutate: (draft: SharedState) => SharedState | Promise<SharedState>): Promise<SharedState> {
    // Serialised here so this worker's own writers do not conflict with each other.
    return this.writes.run(async () => {
      let current = this.latest ?? (await this.load())
      for (let attempt = 1; ; attempt++) {
        const next = await mutate(structuredClone(current))
        const committed: SharedState = { ...next, version: current.version + 1 }
        const reply = await this.call(IPC_STATE.cas, { expected: current.version, next: committed })
        this.observe(reply.state)
        if (reply.written === true) return reply.state
        if (attempt >= MAX_CAS_ATTEMPTS) throw new errors.DRAWBRIDGE_ERR_CONFLICT('the state kept changing under this update; try again')
        current = reply.state
      }
    })
  }

  subscribe (listener: (state: SharedState) => void): () => void {
    return this.listeners.add(listener)
  }

  async appendAudit (entry: AuditEntry): Promise<void> {
    await this.call(IPC_STATE.appendAudit, entry)
  }

  async listAudit (limit: number): Promise<AuditEntry[]> {
    if (limit <= 0) return []
    return await this.call(IPC_STATE.listAudit, limit) as AuditEntry[]
  }

  health (): StoreHealth {
    if (this.closed) return { ok: false, reason: 'store closed' }
    if (this.unreachable !== null) return { ok: false, reason: `cluster primary unreachable: ${this.unreachable}` }
    return this.primaryHealth
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    await this.writes.close()
    this.listeners.clear()
  }

  private resync (): void {
    if (this.closed) return
    this.load().catch((err: unknown) => { this.logger.debug({ err }, 'state resync from the cluster primary failed; will retry') })
  }

  private onPush (data: unknown): void {
    let state: SharedState
    try {
      state = decodeState(data)
    } catch (err) {
      this.logger.warn({ err }, 'ignoring an invalid state from the cluster primary')
      return
    }
    this.observe(state)
  }

  /** Hands a snapshot to the listeners only when newer than any seen. */
  private observe (state: SharedState): void {
    if (this.latest !== null && state.version <= this.latest.version) return
    this.latest = state
    this.listeners.emit(state)
  }

  /** One call to the primary; an unreachable primary is a 503 the admin API can answer. */
  private async call<T = StateReply> (method: string, params: unknown): Promise<T> {
    if (this.closed) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE('store closed')
    let result: unknown
    try {
      result = await this.primary.request(method, params, this.timeoutMs)
    } catch (err) {
      if (!(err instanceof IpcUnavailableError)) throw err
      this.unreachable = err.message
      throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(`cluster primary unreachable: ${err.message}`)
    }
    this.unreachable = null
    const health = (result as Partial<StateReply> | null)?.health
    if (health !== undefined) this.primaryHealth = health
    return result as T
  }
}
