import type { AppContext } from '../context.js'
import { storeCall } from '../state/store-call.js'
import { patchRouting } from '../upstreams/routing-service.js'
import { standaloneUpstreams } from '../upstreams/standalone-handle.js'
import { openWindow, restoreWindow, type MaintenanceSnapshot } from './maintenance-window.js'

/**
 * What a run closes around its migrations and opens again afterwards: a
 * maintenance window (the 503 page), or a pause (CONTRACT section 6) that
 * holds requests until the run ends or `pauseMaxMs` passes. Either way it
 * goes through the same service as the admin routes, so it is validated,
 * audited as `migration-run:<id>` and published; and it puts back exactly what
 * it found, so an operator's own window or pause survives the run.
 */
export interface RunGate {
  readonly kind: 'maintenance' | 'pause'
  /** Closes the gate. Returns the step's detail. */
  close (): Promise<string>
  /** Puts back what close() found. Returns the step's detail. */
  restore (): Promise<string>
  /** Whether close() ran, so a failure knows there is something to put back. */
  readonly closed: boolean
  /** What the run log says when a failure leaves the gate closed (onFailure: keep). */
  readonly keptWarning: string
}

export function maintenanceGate (ctx: AppContext, actor: string, message: string | null, retryAfter: number | null): RunGate {
  let before: MaintenanceSnapshot | null = null
  return {
    kind: 'maintenance',
    get closed () { return before !== null },
    keptWarning: 'maintenance stays ON after the failure (onFailure: keep): fix, then run again or turn it off',
    async close () {
      before = await openWindow(ctx, actor, message, retryAfter)
      return 'maintenance on'
    },
    async restore () {
      if (before === null) return 'nothing to put back'
      await restoreWindow(ctx, actor, before)
      return before.enabled ? 'maintenance left as it was before the run (on)' : 'maintenance off'
    }
  }
}

export function pauseGate (ctx: AppContext, actor: string): RunGate {
  // A pause checks no upstream's health, so the config's names do when no gateway runs in this process.
  const handle = ctx.upstreams ?? standaloneUpstreams(ctx.config)
  let pausedBefore: boolean | null = null
  return {
    kind: 'pause',
    get closed () { return pausedBefore !== null },
    keptWarning: 'traffic stays PAUSED after the failure (onFailure: keep): held requests get the maintenance 503 after pauseMaxMs; fix, then run again or `drawbridge resume`',
    async close () {
      pausedBefore = (await storeCall(async () => await ctx.store.load())).routing?.paused === true
      const routing = await patchRouting(ctx, handle, actor, { paused: true })
      return `traffic held (pauseMaxMs ${routing.pauseMaxMs})`
    },
    async restore () {
      if (pausedBefore === null) return 'nothing to put back'
      await patchRouting(ctx, handle, actor, { paused: pausedBefore })
      return pausedBefore ? 'pause left as it was before the run (paused)' : 'traffic resumed: held requests released in arrival order'
    }
  }
}
