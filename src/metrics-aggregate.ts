import type { MetricFamily, Sample } from './metrics.js'

/** A sample's identity within its family: its name and label set (label order as the worker wrote it). */
function sampleKey (sample: Sample): string {
  return sample.name + '\0' + JSON.stringify(sample.labels)
}

function combine (aggregator: MetricFamily['aggregator'], a: number, b: number): number {
  switch (aggregator) {
    case 'sum': return a + b
    case 'min': return Math.min(a, b)
    case 'max': return Math.max(a, b)
    case 'first': return a
  }
}

/**
 * One registry's worth of metrics from several workers' snapshots, as
 * prom-client's AggregatorRegistry builds a cluster scrape: families matched
 * by name, samples by name and labels, values combined by the family's
 * aggregator (counters and histograms add up). A family or a label set that
 * only some workers have is kept as it is (worker 0 alone counts webhooks).
 */
export function aggregateFamilies (perWorker: MetricFamily[][]): MetricFamily[] {
  const families = new Map<string, { family: MetricFamily, samples: Map<string, Sample> }>()
  for (const snapshot of perWorker) {
    for (const family of snapshot) {
      let entry = families.get(family.name)
      if (entry === undefined) {
        entry = { family: { ...family, samples: [] }, samples: new Map() }
        families.set(family.name, entry)
      }
      for (const sample of family.samples) {
        const key = sampleKey(sample)
        const seen = entry.samples.get(key)
        if (seen === undefined) entry.samples.set(key, { ...sample })
        else seen.value = combine(entry.family.aggregator, seen.value, sample.value)
      }
    }
  }
  return [...families.values()].map(({ family, samples }) => ({ ...family, samples: [...samples.values()] }))
}
