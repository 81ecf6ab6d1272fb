import type { AppContext } from '../context.js'
import { aggregateFamilies } from '../metrics-aggregate.js'
import { Counter, Gauge, type MetricFamily } from '../metrics.js'
import type { IpcPeer } from '../ipc/ipc-peer.js'

/** Method names: worker 0 asks the primary to gather; the primary asks each worker to collect. */
export const IPC_METRICS = { gather: 'metrics.gather', collect: 'metrics.collect' } as const

/** A worker that does not answer within this is left out of the scrape rather than stalling it. */
export const COLLECT_TIMEOUT_MS = 2000

/** This process's metrics, with the state gauges read now (they are not kept up to date per change). */
export async function collectMetrics (ctx: AppContext): Promise<MetricFamily[]> {
  const state = ctx.holder.current
  ctx.metrics.stateVersion.set(state?.version ?? 0)
  ctx.metrics.storeConnected.set(ctx.store.health().ok ? 1 : 0)
  ctx.metrics.maintenanceEnabled.set(state?.maintenance.enabled === true ? 1 : 0)
  return await ctx.metrics.snapshotAll()
}

/** In a worker: answer the primary's collect requests. */
export function serveWorkerMetrics (primary: IpcPeer, ctx: AppContext): void {
  primary.handle(IPC_METRICS.collect, async () => await collectMetrics(ctx))
}

/** In worker 0, for /metrics: every live worker's metrics, aggregated by the primary. */
export async function clusterMetrics (primary: IpcPeer): Promise<MetricFamily[]> {
  return await primary.request(IPC_METRICS.gather, null, COLLECT_TIMEOUT_MS * 2) as MetricFamily[]
}

export const WORKER_RESTARTS_METRIC = 'drawbridge_worker_restarts_total'
export const WORKERS_SCRAPED_METRIC = 'drawbridge_workers_scraped'

/**
 * The primary's side of a cluster scrape, with its own metrics. It keeps each
 * worker's last answer so that when a worker dies its counters (as of the last
 * scrape) stay in the sum: the cluster's counters then never go down when a
 * worker is replaced, which Prometheus would read as a reset of the whole sum.
 */
export class MetricsGatherer {
  readonly restarts = new Counter(WORKER_RESTARTS_METRIC, 'Workers the cluster primary restarted after they died.')
  private readonly scraped = new Gauge(WORKERS_SCRAPED_METRIC, 'Workers whose metrics this scrape includes (fewer than --workers while one is restarting or did not answer).')
  private readonly last = new Map<IpcPeer, MetricFamily[]>()
  /** Counters and histograms of dead workers, as of their last scrape. */
  private retired: MetricFamily[] = []

  constructor () {
    // Present from the start, so a rate() over it has a zero to begin from.
    this.restarts.inc({}, 0)
  }

  /** Ask every worker, aggregate whoever answered in time with the dead workers' counts, add the primary's own. */
  async gather (workers: IpcPeer[], onMissing: (err: unknown) => void): Promise<MetricFamily[]> {
    const answers = await Promise.allSettled(workers.map((w) => w.request(IPC_METRICS.collect, null, COLLECT_TIMEOUT_MS)))
    const snapshots: MetricFamily[][] = []
    answers.forEach((answer, i) => {
      if (answer.status === 'rejected') {
        onMissing(answer.reason)
        return
      }
      const snapshot = answer.value as MetricFamily[]
      snapshots.push(snapshot)
      this.last.set(workers[i] as IpcPeer, snapshot)
    })
    this.scraped.set(snapshots.length)
    return [...aggregateFamilies([...snapshots, this.retired]), this.restarts.snapshot(), this.scraped.snapshot()]
  }

  /** A worker died: fold its last counts into the retired ones (its gauges no longer mean anything). */
  retire (worker: IpcPeer): void {
    const snapshot = this.last.get(worker)
    this.last.delete(worker)
    if (snapshot !== undefined) this.retired = aggregateFamilies([this.retired, snapshot.filter((f) => f.type !== 'gauge')])
  }
}
