import { patchMaintenance } from '../maintenance/maintenance-service.js'
import { storeCall } from '../state/store-call.js'
import type { AppContext } from '../context.js'
import type { MaintenanceState } from '../state/types.js'

/** What a run changes when it opens its window, so it can put exactly that back. */
export type MaintenanceSnapshot = Pick<MaintenanceState, 'enabled' | 'message' | 'retryAfter' | 'startsAt' | 'endsAt'>

/**
 * Opens maintenance now, through the same service as the PATCH route (so it
 * is validated, audited as `migration-run:<id>` and published as an event).
 * A scheduled window is cleared: the migration is about to run, whatever the
 * schedule said. Returns the state to restore afterwards.
 */
export async function openWindow (ctx: AppContext, actor: string, message: string | null, retryAfter: number | null): Promise<MaintenanceSnapshot> {
  const state = await storeCall(async () => await ctx.store.load())
  const m = state.maintenance
  const before: MaintenanceSnapshot = { enabled: m.enabled, message: m.message, retryAfter: m.retryAfter, startsAt: m.startsAt, endsAt: m.endsAt }
  await patchMaintenance(ctx, actor, {
    enabled: true,
    startsAt: null,
    endsAt: null,
    ...(message === null ? {} : { message }),
    ...(retryAfter === null ? {} : { retryAfter })
  })
  return before
}

/**
 * Puts maintenance back as it was before the run: off if it was off, or the
 * operator's own window (message, schedule) if one was already set.
 */
export async function restoreWindow (ctx: AppContext, actor: string, before: MaintenanceSnapshot): Promise<void> {
  await patchMaintenance(ctx, actor, { ...before })
}
