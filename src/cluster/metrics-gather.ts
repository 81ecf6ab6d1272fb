import type { AppContext } from '../context.js'
import { aggregateFamilies } from '../metrics-aggregate.js'
import type { MetricFamily } from '../metrics.js'
import type { IpcPeer } from './ipc-peer.js'

/** Method names: worker 0 asks the primary to gather; the primary asks each worker to collect. */
export const IPC_METRICS = { gather: 'metrics.gather', collect: 'metrics.collect' } as const

/** A worker that does not answer within this is left out of the scrape rather than stalling it. */
export const COLLECT_TIMEOUT_MS = 2000

/** This process's metrics, with the state gauges read now (they are not kept up to date per change). */
export function collectMetrics (ctx: AppContext): MetricFamily[] {
  const state = ctx.holder.current
  ctx.metrics.stateVersion.set(state?.version ?? 0)
  ctx.metrics.storeConnected.set(ctx.store.health().ok ? 1 : 0)
  ctx.metrics.maintenanceEnabled.set(state?.maintenance.enabled === true ? 1 : 0)
  return ctx.metrics.snapshot()
}

/** In a worker: answer the primary's collect requests. */
export function serveWorkerMetrics (primary: IpcPeer, ctx: AppContext): void {
  primary.handle(IPC_METRICS.collect, () => collectMetrics(ctx))
}

/** In worker 0, for /metrics: every live worker's metrics, aggregated by the primary. */
export async function clusterMetrics (primary: IpcPeer): Promise<MetricFamily[]> {
  return await primary.request(IPC_METRICS.gather, null, COLLECT_TIMEOUT_MS * 2) as MetricFamily[]
}

/** In the primary: ask every worker, aggregate whoever answered in time. */
export async function gatherMetrics (workers: Iterable<IpcPeer>, onMissing: (err: unknown) => void): Promise<MetricFamily[]> {
  const answers = await Promise.allSettled([...workers].map((w) => w.request(IPC_METRICS.collect, null, COLLECT_TIMEOUT_MS)))
  const snapshots: MetricFamily[][] = []
  for (const answer of answers) {
    if (answer.status === 'fulfilled') snapshots.push(answer.value as MetricFamily[])
    else onMissing(answer.reason)
  }
  return aggregateFamilies(snapshots)
}
