/**
 * A minimal Prometheus registry. Hand-written rather than prom-client because
 * counters sit on the request path: incrementing one is a property bump on a
 * plain object, with the label set fixed when the metric is declared.
 */

type LabelValues = Record<string, string>

function escapeLabel (value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
}

function labelText (labels: LabelValues): string {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return '{' + keys.map((k) => `${k}="${escapeLabel(labels[k] ?? '')}"`).join(',') + '}'
}

interface Metric {
  render (): string
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

  render (): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`
    for (const { labels, value } of this.values.values()) out += `${this.name}${labelText(labels)} ${value}\n`
    return out
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, { labels: LabelValues, value: number }>()
  constructor (readonly name: string, readonly help: string, private readonly collect?: () => void) {}

  set (value: number, labels: LabelValues = {}): void {
    const key = labelText(labels)
    const entry = this.values.get(key)
    if (entry === undefined) this.values.set(key, { labels, value })
    else entry.value = value
  }

  render (): string {
    this.collect?.()
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`
    for (const { labels, value } of this.values.values()) out += `${this.name}${labelText(labels)} ${value}\n`
    return out
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

  render (): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`
    let cumulative = 0
    for (let i = 0; i < this.buckets.length; i++) {
      cumulative += this.counts[i] as number
      out += `${this.name}_bucket{le="${this.buckets[i]}"} ${cumulative}\n`
    }
    out += `${this.name}_bucket{le="+Inf"} ${this.count}\n${this.name}_sum ${this.sum}\n${this.name}_count ${this.count}\n`
    return out
  }
}

export class Metrics {
  private readonly all: Metric[] = []

  readonly requests = this.add(new Counter('drawbridge_requests_total', 'Gateway requests by decision rule and outcome.'))
  readonly upstreamErrors = this.add(new Counter('drawbridge_upstream_errors_total', 'Upstream failures answered by the gateway, by status.'))
  readonly upstreamLatency = this.add(new Histogram('drawbridge_upstream_response_seconds', 'Time from forwarding a request to the upstream\'s response headers.',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]))

  readonly stateVersion = this.add(new Gauge('drawbridge_state_version', 'Version of the shared state this process holds.'))
  readonly storeConnected = this.add(new Gauge('drawbridge_store_connected', '1 when the state store is reachable, else 0.'))
  readonly maintenanceEnabled = this.add(new Gauge('drawbridge_maintenance_enabled', '1 when maintenance is enabled (window aside), else 0.'))

  add<T extends Metric> (metric: T): T {
    this.all.push(metric)
    return metric
  }

  render (): string {
    return this.all.map((m) => m.render()).join('')
  }
}
