import { collectDefaultMetrics, Registry } from 'prom-client'

/**
 * `process_*` and `nodejs_*` from prom-client's default collectors: the
 * names every Node dashboard expects, so they come from the library rather
 * than being re-implemented. Only these go through prom-client; the request
 * path's counters stay in metrics.ts (a property bump each). The collectors
 * start with the first scrape (event-loop lag and GC are observed from then
 * on), so a process that is never scraped pays nothing for them.
 */

let registry: Registry | null = null

export async function processMetrics (): Promise<string> {
  if (registry === null) {
    registry = new Registry()
    collectDefaultMetrics({ register: registry })
  }
  return await registry.metrics()
}
