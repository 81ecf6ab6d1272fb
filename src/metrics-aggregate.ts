import type { MetricFamily, Sample } from './metrics.js'

/** A sample's identity within its family: its name and label set (label order as the worker wrote it). */
function sampleKey (sample: Sample): string {
  return sample.name + '\0' + JSON.stringify(sample.labels)
}

/** `a` so far over `seen` workers, `b` the next one's value. */
function combine (aggregator: MetricFamily['aggregator'], a: number, b: number, seen: number): number {
  switch (aggregator) {
    case 'min': return Math.min(a, b)
    case 'max': return Math.max(a, b)
    case 'first': return a
    case 'average': return (a * seen + b) / (seen + 1)
    default: return a + b
  }
}

/**
 * One registry's worth of metrics from several workers' snapshots, as
 * prom-client's AggregatorRegistry builds a cluster scrape: families matched
 * by name, samples by name and labels, values combined by the family's
 * aggregator (counters and histograms add up); `omit` families (a process
 * start time) are left out. A family or a label set that only some workers
 * have is kept as it is (worker 0 alone counts webhooks).
 */
export function aggregateFamilies (perWorker: MetricFamily[][]): MetricFamily[] {
  const families = new Map<string, { family: MetricFamily, samples: Map<string, { sample: Sample, seen: number }> }>()
  for (const snapshot of perWorker) {
    for (const family of snapshot) {
      if (family.aggregator === 'omit') continue
      let entry = families.get(family.name)
      if (entry === undefined) {
        entry = { family: { ...family, samples: [] }, samples: new Map() }
        families.set(family.name, entry)
      }
      for (const sample of family.samples) {
        const key = sampleKey(sample)
        const seen = entry.samples.get(key)
        if (seen === undefined) {
          entry.samples.set(key, { sample: { ...sample }, seen: 1 })
        } else {
          // null: NaN (an empty mean) after the JSON channel; it stays NaN.
          seen.sample.value = combine(entry.family.aggregator, seen.sample.value ?? NaN, sample.value ?? NaN, seen.seen)
          seen.seen++
        }
      }
    }
  }
  return [...families.values()].map(({ family, samples }) => ({ ...family, samples: [...samples.values()].map((s) => s.sample) }))
}
