import type { AppContext } from '../context.js'
import type { MigrationProgress } from '../state/types.js'

/**
 * A run's progress in the shared state while it holds the maintenance window,
 * so that every replica's `/__drawbridge/status` and page show "step 3 of 5"
 * and when it should be over. The estimate is the sum of what a rehearsal of
 * the same files measured for the migrations not yet done; without one there
 * is no estimate. Writes are best effort: a store hiccup never fails a run.
 */
export class RunProgress {
  private written = false

  constructor (
    private readonly ctx: AppContext,
    private readonly runId: string,
    private readonly names: readonly string[],
    /** Measured milliseconds per migration name, from a matching rehearsal. */
    private readonly durations: ReadonlyMap<string, number> | null
  ) {}

  /** Milliseconds the migrations from `index` on took in the rehearsal; null when one was not measured. */
  remainingMs (index: number): number | null {
    if (this.durations === null) return null
    let total = 0
    for (const name of this.names.slice(index)) {
      const ms = this.durations.get(name)
      if (ms === undefined) return null
      total += ms
    }
    return total
  }

  /** Migration `index` (0-based) starts now. */
  async at (index: number): Promise<void> {
    const now = Date.now()
    const remaining = this.remainingMs(index)
    await this.write({
      runId: this.runId,
      step: index + 1,
      of: this.names.length,
      current: this.names[index] ?? '',
      endsAt: remaining === null ? null : new Date(now + remaining).toISOString(),
      updatedAt: new Date(now).toISOString()
    })
  }

  /** The run no longer holds the window (idempotent; clears only what this run wrote). */
  async clear (): Promise<void> {
    if (!this.written) return
    await this.write(null)
  }

  private async write (progress: MigrationProgress | null): Promise<void> {
    try {
      await this.ctx.store.update((draft) => {
        // Another run's progress (a later run, once this one lost its lock) is not ours to clear.
        if (progress === null && draft.progress?.runId !== this.runId) return draft
        return { ...draft, progress }
      })
      this.written = progress !== null
    } catch (err) {
      this.ctx.logger.warn({ err, runId: this.runId }, 'could not record the run\'s progress in the shared state')
    }
  }
}

/** Clears progress left by runs whose runner died (just found interrupted). Best effort, like every progress write. */
export async function clearStaleProgress (ctx: AppContext, runIds: readonly string[]): Promise<void> {
  if (runIds.length === 0) return
  try {
    const stale = (await ctx.store.load()).progress?.runId
    if (stale === undefined || !runIds.includes(stale)) return
    await ctx.store.update((draft) => draft.progress?.runId === stale ? { ...draft, progress: null } : draft)
  } catch (err) {
    ctx.logger.warn({ err }, 'could not clear an interrupted run\'s progress from the shared state')
  }
}
