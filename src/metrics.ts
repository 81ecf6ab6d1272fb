/**
 * A minimal Prometheus registry. Hand-written rather than prom-client because
 * counters sit on the request path: incrementing one is a property bump on a
 * plain object, with the label set fixed when the metric is declared.
 */

type LabelValues = Record<string, string>

/**
 * How one metric's samples from several workers become one: counters and
 * histograms add up; a gauge says which value stands for the cluster. The
 * names are prom-client's (AggregatorRegistry), whose cluster scrape this follows.
 */
export type Aggregator = 'sum' | 'min' | 'max' | 'first'

export interface Sample {
  /** Full sample name (a histogram's `_bucket`, `_sum`, `_count`). */
  name: string
  labels: LabelValues
  value: number
}

/** One metric's samples as plain data: what a worker sends the primary, and what is rendered. */
export interface MetricFamily {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram'
  aggregator: Aggregator
  samples: Sample[]
}

function escapeLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function labelText (labels: LabelValues): string {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return '{' + keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',') + '}'
}

interface Metric {
  snapshot (): MetricFamily
}

/** The Prometheus text format (0.0.4) of `families`. */
export function renderFamilies (families: MetricFamily[]): string {
  let out = ''
  for (const family of families) {
    out += `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n`
    for (const sample of family.samples) out += `${sample.name}${labelText(sample.labels)} ${sample.value}\n`
  }
  return out
}

export class Counter implements Metric {
  private readonly values = new Map<string, { labels: LabelValues, value: number }>()
  constructor (readonly name: string, readonly help: string) {}

  /** Bound child for a fixed label set, so the hot path does no string work. */
  labels (labels: LabelValues = {}): { inc: (by?: number) => void } {
    const key = labelText(labels)
    let entry = this.values.get(key)
    if (entry === undefined) {
      entry = { labels, value: 0 }
      this.values.set(key, entry)
    }
    const slot = entry
    return { inc: (by = 1) => { slot.value += by } }
  }

  inc (labels: LabelValues = {}, by = 1): void { this.labels(labels).inc(by) }

  snapshot (): MetricFamily {
    const samples = [...this.values.values()].map(({ labels, value }) => ({ name: this.name, labels, value }))
    return { name: this.name, help: this.help, type: 'counter', aggregator: 'sum', samples }
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, { labels: LabelValues, value: number }>()
  constructor (readonly name: string, readonly help: string, private readonly aggregator: Aggregator = 'sum', private readonly collect?: () => void) {}

  set (value: number, labels: LabelValues = {}): void {
    const key = labelText(labels)
    const entry = this.values.get(key)
    if (entry === undefined) this.values.set(key, { labels, value })
    else entry.value = value
  }

  snapshot (): MetricFamily {
    this.collect?.()
    const samples = [...this.values.values()].map(({ labels, value }) => ({ name: this.name, labels, value }))
    return { name: this.name, help: this.help, type: 'gauge', aggregator: this.aggregator, samples }
  }
}

export class Histogram implements Metric {
  private readonly counts: number[]
  private sum = 0
  private count = 0
  constructor (readonly name: string, readonly help: string, private readonly buckets: number[]) {
    this.counts = buckets.map(() => 0)
  }

  observe (value: number): void {
    this.sum += value
    this.count++
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] as number)) { this.counts[i] = (this.counts[i] as number) + 1; break }
    }
  }

  snapshot (): MetricFamily {
    const samples: Sample[] = []
    let cumulative = 0
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i] as number
      samples.push({ name: `${this.name}_bucket`, labels: { le: String(this.buckets[i]) }, value: cumulative })
    }
    samples.push({ name: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.count })
    samples.push({ name: `${this.name}_sum`, labels: {}, value: this.sum })
    samples.push({ name: `${this.name}_count`, labels: {}, value: this.count })
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', samples }
  }
}

export class Metrics {
  private readonly all: Metric[] = []

  readonly requests = this.add(new Counter('drawbridge_requests_total', 'Gateway requests by decision rule and outcome.'))
  readonly upstreamErrors = this.add(new Counter('drawbridge_upstream_errors_total', 'Upstream failures answered by the gateway, by status.'))
  readonly upstreamLatency = this.add(new Histogram('drawbridge_upstream_response_seconds', 'Time from forwarding a request to the upstream\'s response headers.',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]))

  // Across workers: the oldest version any worker holds, 0 if any worker lost the store, 1 if any worker has maintenance on.
  readonly stateVersion = this.add(new Gauge('drawbridge_state_version', 'Version of the shared state this process holds (the lowest of its workers).', 'min'))
  readonly storeConnected = this.add(new Gauge('drawbridge_store_connected', '1 when the state store is reachable (from every worker), else 0.', 'min'))
  readonly maintenanceEnabled = this.add(new Gauge('drawbridge_maintenance_enabled', '1 when maintenance is enabled (window aside), else 0.', 'max'))

  add<T extends Metric> (metric: T): T {
    this.all.push(metric)
    return metric
  }

  snapshot (): MetricFamily[] {
    return this.all.map((m) => m.snapshot())
  }

  render (): string {
    return renderFamilies(this.snapshot())
  }
}
