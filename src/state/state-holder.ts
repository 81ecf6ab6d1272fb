import type { Logger } from 'pino'
import type { SharedState, StateStore, StoreHealth } from './types.js'

/**
 * The process's in-memory copy of the shared state. The request path reads
 * `current` synchronously; the store feeds it newer snapshots (own writes,
 * pub/sub, periodic resync). Listeners (the gateway's and the flags' compilers)
 * run once per change, never per request.
 */
export class StateHolder {
  private state: SharedState | null = null
  private readonly listeners = new Set<(state: SharedState) => void>()
  private unsubscribe: (() => void) | null = null
  private retryTimer: NodeJS.Timeout | null = null
  private lastLoadError: string | null = null

  constructor (private readonly store: StateStore, private readonly logger: Logger, private readonly retryMs = 1000) {}

  get current (): SharedState | null { return this.state }
  get loaded (): boolean { return this.state !== null }

  /**
   * Subscribes and loads. Never throws: when the store is unreachable the
   * holder keeps retrying in the background, and until the first load the
   * gateway follows its fail-open/fail-closed policy.
   */
  async start (): Promise<void> {
    this.unsubscribe = this.store.subscribe((s) => { this.apply(s) })
    await this.tryLoad()
  }

  private async tryLoad (): Promise<void> {
    try {
      this.apply(await this.store.load())
      this.lastLoadError = null
    } catch (err) {
      this.lastLoadError = (err as Error).message
      this.logger.warn({ err }, 'state not loaded yet; retrying')
      this.retryTimer = setTimeout(() => { void this.tryLoad() }, this.retryMs)
      this.retryTimer.unref()
    }
  }

  /** Applies a snapshot only if it is newer than the one held. */
  apply (next: SharedState): void {
    if (this.state !== null && next.version <= this.state.version) return
    this.state = next
    for (const listener of this.listeners) {
      try {
        listener(next)
      } catch (err) {
        this.logger.error({ err }, 'state listener failed')
      }
    }
  }

  /** Calls `listener` now (if loaded) and on every newer state. */
  onChange (listener: (state: SharedState) => void): () => void {
    this.listeners.add(listener)
    if (this.state !== null) listener(this.state)
    return () => { this.listeners.delete(listener) }
  }

  health (): StoreHealth {
    if (this.state === null) return { ok: false, reason: `state not loaded: ${this.lastLoadError ?? 'loading'}` }
    return this.store.health()
  }

  stop (): void {
    this.unsubscribe?.()
    if (this.retryTimer !== null) clearTimeout(this.retryTimer)
  }
}
