import type { Logger } from 'pino'
import type { StateCache } from './state-cache.js'
import { stateProblem } from './state-check.js'
import type { SharedState, StateStore, StoreHealth } from './types.js'
import { Listeners } from './listeners.js'

type Listener = (state: SharedState) => void

/** A newer snapshot this process refused to serve, and why (for /readyz). */
interface Refusal {
  version: number
  reason: string
}

/**
 * The process's in-memory copy of the shared state. The request path reads
 * `current` synchronously; the store feeds it newer snapshots (own writes,
 * pub/sub, periodic resync). Listeners (the gateway's and the flags' compilers)
 * run once per change, never per request.
 *
 * Fault isolation: a snapshot is checked against the state schema before it
 * replaces the current one. One that does not pass (written by an older or
 * newer version, hand-edited, shape-broken) is refused: the last good state
 * keeps serving (before any, the gateway's fail policy), the problem is
 * logged once and `/readyz` reports it until a good snapshot arrives. A
 * listener that throws is logged and reported the same way, and neither stops
 * the other listeners nor reaches the process.
 *
 * With a state cache (state-cache.ts), every applied snapshot is also written
 * to local disk, and a holder that starts serves the cached state until the
 * store answers: the fail policy applies only when nothing is known at all.
 * The store's first snapshot then replaces the cached one whatever their
 * versions (the store is the truth; the cache only bridges an outage), and
 * until it arrives `/readyz` says which state is served and why.
 */
export class StateHolder {
  private state: SharedState | null = null
  private readonly listeners: Listeners<SharedState>
  private unsubscribe: (() => void) | null = null
  private retryTimer: NodeJS.Timeout | null = null
  private lastLoadError: string | null = null
  private refused: Refusal | null = null
  private listenerFailure: Refusal | null = null
  /** When the state served came from the cache and the store has not answered yet: when it was cached. */
  private cachedAt: string | null = null

  constructor (private readonly store: StateStore, private readonly logger: Logger, private readonly retryMs = 1000, private readonly cache: StateCache | null = null) {
    this.listeners = new Listeners((err, state) => {
      this.listenerFailure ??= { version: state.version, reason: (err as Error).message }
      this.logger.error({ err, version: state.version }, 'state listener failed; it keeps what it had compiled')
    })
  }

  get current (): SharedState | null { return this.state }
  get loaded (): boolean { return this.state !== null }

  /**
   * Subscribes and loads. Never throws: when the store is unreachable the
   * holder keeps retrying in the background, and until the first load the
   * gateway follows its fail-open/fail-closed policy.
   */
  async start (): Promise<void> {
    const cached = this.cache?.atStart() ?? null
    if (cached !== null) {
      this.state = cached.state
      this.cachedAt = cached.savedAt
      this.logger.info({ version: cached.state.version, savedAt: cached.savedAt }, 'serving the cached state until the store answers')
    }
    this.unsubscribe = this.store.subscribe((s) => { this.apply(s) })
    await this.tryLoad()
  }

  private async tryLoad (): Promise<void> {
    try {
      this.apply(await this.store.load())
      this.lastLoadError = null
    } catch (err) {
      const message = (err as Error).message
      // Once per distinct reason: a store down for an hour is one line, not 3600.
      if (message !== this.lastLoadError) this.logger.warn({ err }, 'state not loaded yet; retrying')
      this.lastLoadError = message
      this.retryTimer = setTimeout(() => { void this.tryLoad() }, this.retryMs)
      this.retryTimer.unref()
    }
  }

  /** Applies a snapshot only if it is newer than the one held (or the held one is only cached) and passes the state schema. */
  apply (next: SharedState): void {
    if (this.state !== null && this.cachedAt === null && next.version <= this.state.version) return
    if (this.refused !== null && this.refused.version === next.version) return
    let problem: string | null
    try {
      problem = stateProblem(next)
    } catch (err) {
      problem = `cannot be checked (${(err as Error).message})`
    }
    if (problem !== null) {
      this.refused = { version: next.version, reason: problem }
      this.logger.error({ version: next.version, problem, serving: this.state?.version ?? null },
        'state refused: it does not pass the state schema; keeping the last good state')
      return
    }
    this.refused = null
    this.listenerFailure = null
    this.cachedAt = null
    this.state = next
    this.listeners.emit(next)
    this.cache?.save(next)
  }

  /** Calls `listener` now (if loaded) and on every newer state. */
  onChange (listener: Listener): () => void {
    const remove = this.listeners.add(listener)
    if (this.state !== null) this.listeners.call(listener, this.state)
    return remove
  }

  /** With `ignoreStore`: whether a state is served that compiled, wherever it came from (the store, the cache), whatever the store's health. */
  health (options: { ignoreStore?: boolean } = {}): StoreHealth {
    const serving = this.state === null ? 'serving the fail policy' : `serving version ${this.state.version}`
    if (this.refused !== null && options.ignoreStore !== true) return { ok: false, reason: `state version ${this.refused.version} refused: ${this.refused.reason}; ${serving}` }
    if (this.state === null) return { ok: false, reason: `state not loaded: ${this.lastLoadError ?? 'loading'}` }
    if (options.ignoreStore === true && this.listenerFailure === null) return { ok: true, reason: null }
    if (this.cachedAt !== null) return { ok: false, reason: `serving the cached state of ${this.cachedAt} (version ${this.state.version}) until the store answers: ${this.lastLoadError ?? 'loading'}` }
    if (this.listenerFailure !== null) return { ok: false, reason: `state version ${this.listenerFailure.version} failed to compile: ${this.listenerFailure.reason}` }
    return this.store.health()
  }

  stop (): void {
    this.unsubscribe?.()
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
  }

  /** Resolves once the cache holds the last applied state (a process about to exit waits for it). */
  async cacheWritten (): Promise<void> {
    await this.cache?.flush()
  }
}
