import type { AppContext } from '../context.js'
import type { SharedState } from '../state/types.js'
import { compiledFor, type CompiledFlags } from './compile.js'
import { FlagUsage } from './flag-usage.js'
import { createUsageBackend, type UsageBackend } from './usage-backend.js'

/** How often served-value usage is written to the usage backend (never per request). */
export const USAGE_FLUSH_MS = 60_000

type RuntimeCtx = Pick<AppContext, 'config' | 'logger' | 'holder'>

/**
 * What the gateway, OFREP and the admin routes share in one process: the
 * compiled table of the newest state (recompiled lazily, once per state
 * change: one pointer comparison per request otherwise) and the usage tracker,
 * flushed in the background.
 */
export class FlagRuntime {
  readonly usage = new FlagUsage()
  private compiled: CompiledFlags | null = null
  /** A state whose flags failed to compile: not retried on every request. */
  private failed: SharedState | null = null
  private readonly backend: UsageBackend
  private readonly timer: NodeJS.Timeout
  private flushing: Promise<void> | null = null

  constructor (private readonly ctx: RuntimeCtx, options: { flushMs?: number, backend?: UsageBackend } = {}) {
    this.backend = options.backend ?? createUsageBackend(ctx.config, ctx.logger)
    this.timer = setInterval(() => { void this.flush() }, options.flushMs ?? USAGE_FLUSH_MS)
    this.timer.unref()
  }

  /** The compiled table for the newest state, or null before the first load. */
  table (): CompiledFlags | null {
    const state = this.ctx.holder.current
    if (state === null) return null
    const compiled = this.compiled
    if (compiled !== null && compiled.state === state) return compiled
    if (state === this.failed) return compiled
    return this.recompile(state)
  }

  /**
   * Runs on the request path (once per state change), so it never throws: a
   * table that fails to compile is logged once and the last good one kept.
   */
  private recompile (state: SharedState): CompiledFlags | null {
    let next: CompiledFlags
    try {
      next = compiledFor(state)
    } catch (err) {
      this.failed = state
      this.ctx.logger.error({ err, version: state.version }, 'flags failed to compile; keeping the last good table')
      return this.compiled
    }
    // The outgoing table's slots hold usage not yet folded in.
    if (this.compiled !== null) this.usage.harvest(this.compiled)
    this.compiled = next
    this.failed = null
    return this.compiled
  }

  /** Writes usage gathered since the last flush. Never throws: usage is bookkeeping, kept for the next try. */
  flush (): Promise<void> {
    if (this.flushing !== null) return this.flushing
    this.flushing = (async () => {
      if (this.compiled !== null) this.usage.harvest(this.compiled)
      const dirty = this.usage.takeDirty()
      try {
        await this.backend.save(dirty)
      } catch (err) {
        this.usage.restoreDirty(dirty)
        this.ctx.logger.warn({ err }, 'flag usage not persisted; will retry')
      }
    })().finally(() => { this.flushing = null })
    return this.flushing
  }

  /** Usage from this process merged with what every replica persisted, for listings. */
  async snapshot (): Promise<FlagUsage> {
    if (this.compiled !== null) this.usage.harvest(this.compiled)
    try {
      this.usage.mergePersisted(await this.backend.load())
    } catch (err) {
      this.ctx.logger.warn({ err }, 'flag usage not loaded; showing this process only')
    }
    return this.usage
  }

  private closing: Promise<void> | null = null

  /** Flushes the last usage and closes the backend. Idempotent: the admin port and the server both close it. */
  close (): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer)
      await this.flush()
      await this.backend.close()
    })()
    return this.closing
  }
}

const runtimes = new WeakMap<RuntimeCtx, FlagRuntime>()

/** The one runtime of a context (created on first use). */
export function flagRuntime (ctx: RuntimeCtx): FlagRuntime {
  let runtime = runtimes.get(ctx)
  if (runtime === undefined) {
    runtime = new FlagRuntime(ctx)
    runtimes.set(ctx, runtime)
  }
  return runtime
}

/** Closes the context's runtime if one was created (flushing its last usage); nothing to do otherwise. */
export async function closeFlagRuntime (ctx: RuntimeCtx): Promise<void> {
  await runtimes.get(ctx)?.close()
}
