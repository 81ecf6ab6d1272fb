import { collectDefaultMetrics, Registry } from 'prom-client'
import type { Aggregator, MetricFamily } from './metrics.js'

/**
 * `process_*` and `nodejs_*` from prom-client's default collectors: the
 * names every Node dashboard expects, so they come from the library rather
 * than being re-implemented. Only these go through prom-client; the request
 * path's counters stay in metrics.ts (a property bump each). The collectors
 * start with the first scrape (event-loop lag and GC are observed from then
 * on), so a process that is never scraped pays nothing for them.
 */

let registry: Registry | null = null

/**
 * As plain families, so that with `--workers N` they aggregate with the rest,
 * each by the aggregator prom-client declares for it (CPU and memory add up,
 * event-loop lag is averaged, the start time is left out, as its
 * AggregatorRegistry does).
 */
export async function processFamilies (): Promise<MetricFamily[]> {
  if (registry === null) {
    registry = new Registry()
    collectDefaultMetrics({ register: registry })
  }
  const metrics = await registry.getMetricsAsJSON()
  return metrics.map((metric) => ({
    name: metric.name,
    help: metric.help,
    type: String(metric.type) as MetricFamily['type'],
    aggregator: metric.aggregator as Aggregator,
    samples: metric.values.map((v) => ({
      name: (v as { metricName?: string }).metricName ?? metric.name,
      labels: Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)])),
      value: v.value
    }))
  }))
}
