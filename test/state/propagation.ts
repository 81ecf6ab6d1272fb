import type { Test } from 'tap'
import type { StateHolder } from '../../src/state/state-holder.js'
import type { StateStore } from '../../src/state/types.js'
import { percentile, waitForState } from './helpers.js'

export interface Replica {
  store: StateStore
  holder: StateHolder
}

/**
 * Times `count` toggles, alternating the writer between two replicas: from
 * the update call on one to the other's holder holding it. Asserts the values
 * and generous bounds (the contract's second for the median; a 2-core machine
 * shared with other test runs can stall a process for longer, so every toggle
 * within 5 s); comments and returns the percentiles (ms).
 */
export async function measurePropagation (t: Test, a: Replica, b: Replica, label: string, count = 100): Promise<{ p50: number, p99: number, max: number }> {
  const latencies: number[] = []
  for (let i = 0; i < count; i++) {
    // Alternate the writer: a toggle on either replica must reach the other.
    const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a]
    const enabled = i % 2 === 0
    const start = performance.now()
    const committed = await writer.store.update((d) => { d.maintenance.enabled = enabled; return d })
    await waitForState(reader.holder, (s) => s.version >= committed.version, 5000)
    latencies.push(performance.now() - start)
    if (reader.holder.current?.maintenance.enabled !== enabled) t.fail(`toggle ${i} arrived with the wrong value`)
  }
  latencies.sort((x, y) => x - y)
  const figures = { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1) ?? NaN }
  t.comment(`${label}: toggle propagation (update call on one replica -> holder of the other), ${count} toggles: p50 ${figures.p50.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms, max ${figures.max.toFixed(2)} ms`)
  t.ok(figures.p50 < 1000, `${label}: the median toggle within a second`)
  t.ok(figures.max < 5000, `${label}: every toggle within 5 s, even on a loaded machine`)
  t.equal(a.holder.current?.version, b.holder.current?.version, `${label}: both replicas on the same version`)
  return figures
}
