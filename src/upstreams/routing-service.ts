import type { AppContext, UpstreamsHandle } from '../context.js'
import { errors } from '../errors.js'
import { recordAudit } from '../state/audit.js'
import { storeCall } from '../state/store-call.js'
import { defaultRouting, type CanaryRoute, type RoutingState } from '../state/types.js'
import { compileRouting } from './routing.js'

/**
 * Changes to the routing state (CONTRACT section 6): a switch, a canary, a
 * pause. Names are checked against the configured upstreams; a switch or a
 * canary to an upstream that fails a health check made now is refused (409)
 * unless forced, and then nothing is written. The write is one atomic store
 * update, so every replica sees the same version; it is audited.
 */

export interface RoutingPatch {
  active?: string
  canary?: CanaryRoute | null
  paused?: boolean
  pauseMaxMs?: number
  /** Switch even when the target fails its health check. */
  force?: boolean
}

/** The routing as the API shows it: `active` always names an upstream. */
export type RoutingView = RoutingState & { active: string }

export function routingView (ctx: AppContext, names: readonly string[]): RoutingView {
  return compileRouting(ctx.holder.current?.routing, names).state
}

function checkName (names: readonly string[], name: string, field: string): void {
  if (!names.includes(name)) {
    throw new errors.DRAWBRIDGE_ERR_INVALID(`${field}: no upstream named "${name}" (configured: ${names.join(', ')})`)
  }
}

/** The routing with `patch` applied to `current`. A switch to the canary's upstream ends the canary (it has become the active one). */
function merge (current: RoutingView, patch: RoutingPatch): RoutingView {
  const next: RoutingView = { ...current }
  if (patch.active !== undefined) next.active = patch.active
  if (patch.canary !== undefined) next.canary = patch.canary === null || patch.canary.percentage === 0 ? null : { ...patch.canary }
  else if (next.canary !== null && next.canary.upstream === next.active) next.canary = null
  if (patch.paused !== undefined) next.paused = patch.paused
  if (patch.pauseMaxMs !== undefined) next.pauseMaxMs = patch.pauseMaxMs
  return next
}

/** The upstreams this change would start sending traffic to. */
function newTargets (current: RoutingView, next: RoutingView): string[] {
  const targets: string[] = []
  if (next.active !== current.active) targets.push(next.active)
  if (next.canary !== null && next.canary.upstream !== current.canary?.upstream) targets.push(next.canary.upstream)
  return targets
}

export async function patchRouting (ctx: AppContext, handle: UpstreamsHandle, actor: string, patch: RoutingPatch): Promise<RoutingView> {
  const names = handle.names
  if (patch.active !== undefined) checkName(names, patch.active, 'active')
  if (patch.canary !== undefined && patch.canary !== null) checkName(names, patch.canary.upstream, 'canary.upstream')
  const current = routingView(ctx, names)
  const planned = merge(current, patch)
  if (patch.canary !== undefined && patch.canary !== null && patch.canary.percentage > 0 && patch.canary.upstream === planned.active) {
    throw new errors.DRAWBRIDGE_ERR_INVALID(`canary.upstream: "${planned.active}" is the active upstream; a canary goes to another one`)
  }
  if (patch.force !== true) {
    for (const name of newTargets(current, planned)) {
      const result = await handle.check(name)
      if (!result.ok) throw new errors.DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY(name, result.reason ?? 'unhealthy')
    }
  }

  let before: RoutingView = current
  const state = await storeCall(async () => await ctx.store.update((draft) => {
    // Merged again onto the newest state, inside the atomic update: a concurrent change is not lost.
    before = compileRouting(draft.routing, names).state
    const next = merge(before, patch)
    return { ...draft, routing: { ...defaultRouting(), ...next, updatedAt: new Date().toISOString(), updatedBy: actor } }
  }))
  const after = compileRouting(state.routing, names).state
  ctx.logger.info({ actor, active: after.active, canary: after.canary, paused: after.paused, forced: patch.force === true, version: state.version }, 'routing updated')
  await recordAudit(ctx, { actor, action: 'routing.update', target: 'routing', before, after })
  return after
}
