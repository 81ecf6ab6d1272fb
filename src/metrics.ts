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
export type Aggregator = 'sum' | 'min' | 'max' | 'first' | 'average' | 'omit'

export interface Sample {
  /** Full sample name (a histogram's `_bucket`, `_sum`, `_count`). */
  name: string
  labels: LabelValues
  /** null only after a NaN crossed the JSON channel. */
  value: number | null
}

/** One metric's samples as plain data: what a worker sends the primary, and what is rendered. */
export interface MetricFamily {
  name: string
  help: string
  type: 'counter' | 'gauge' | 'histogram' | 'summary'
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

/** NaN (an empty mean) arrives as null once a snapshot has crossed the JSON channel. */
function formatValue (value: number | null): string {
  if (value === null || Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}

/** The Prometheus text format (0.0.4) of `families`. */
export function renderFamilies (families: MetricFamily[]): string {
  let out = ''
  for (const family of families) {
    out += `# HELP ${family.name} ${family.help}\n# TYPE ${family.name} ${family.type}\n`
    for (const sample of family.samples) out += `${sample.name}${labelText(sample.labels)} ${formatValue(sample.value)}\n`
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
  constructor (readonly name: string, readonly help: string, private readonly aggregator: Aggregator = 'sum', private collect?: () => void) {}

  /** Values read when scraped (per-upstream in-flight counts), set by whoever owns them. */
  collectWith (collect: () => void): void { this.collect = collect }

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
  constructor (readonly name: string, readonly help: string, private readonly buckets: readonly number[]) {
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

/**
 * A value read when scraped rather than kept up to date: open connections and
 * tunnels (gauges), bytes through the sockets (counters, from running totals).
 */
export class Sampled implements Metric {
  private read: () => number = () => 0
  constructor (readonly name: string, readonly help: string, private readonly type: 'gauge' | 'counter') {}
  source (read: () => number): void { this.read = read }
  snapshot (): MetricFamily {
    // Across workers both add up: connections, tunnels and requests in flight, bytes.
    return { name: this.name, help: this.help, type: this.type, aggregator: 'sum', samples: [{ name: this.name, labels: {}, value: this.read() }] }
  }
}

export const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const

/** Methods get their own label value; anything else is `other` (a client cannot mint series). */
export const METHOD_LABELS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'other'] as const
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

export function methodIndex (method: string | undefined): number {
  switch (method) {
    case 'GET': return 0
    case 'HEAD': return 1
    case 'POST': return 2
    case 'PUT': return 3
    case 'PATCH': return 4
    case 'DELETE': return 5
    case 'OPTIONS': return 6
    default: return 7
  }
}

export function statusClassIndex (status: number): number {
  return Math.min(4, Math.max(0, Math.floor(status / 100) - 1))
}

export class Metrics {
  private readonly all: Metric[] = []

  readonly buildInfo = this.add(new Gauge('drawbridge_build_info', 'Always 1; the labels say which build is running.', 'first'))
  readonly requests = this.add(new Counter('drawbridge_requests_total', 'Gateway requests by decision rule and outcome.'))
  readonly responses = this.add(new Counter('drawbridge_responses_total', 'Gateway responses by decision, status class and method.'))
  readonly requestDuration = this.add(new Histogram('drawbridge_request_duration_seconds', 'Gateway requests end to end: from the request to the end of the response (tunnels excluded).', DURATION_BUCKETS))
  readonly bytesReceived = this.add(new Sampled('drawbridge_received_bytes_total', 'Bytes read from gateway clients (headers and bodies, tunnels included).', 'counter'))
  readonly bytesSent = this.add(new Sampled('drawbridge_sent_bytes_total', 'Bytes written to gateway clients (headers and bodies, tunnels included).', 'counter'))
  readonly openConnections = this.add(new Sampled('drawbridge_open_connections', 'Client connections open on the gateway port.', 'gauge'))
  readonly openTunnels = this.add(new Sampled('drawbridge_open_tunnels', 'WebSocket (upgrade) tunnels open through the gateway.', 'gauge'))
  readonly inFlight = this.add(new Sampled('drawbridge_requests_in_flight', 'Requests forwarded to the upstream and not finished yet.', 'gauge'))
  readonly migrationRuns = this.add(new Counter('drawbridge_migration_runs_total', 'Migration runs by outcome.'))
  readonly migrationRunDuration = this.add(new Histogram('drawbridge_migration_run_seconds', 'Duration of finished migration runs.', [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600]))
  readonly upstreamErrors = this.add(new Counter('drawbridge_upstream_errors_total', 'Upstream failures answered by the gateway, by status.'))
  readonly upstreamResponses = this.add(new Counter('drawbridge_upstream_responses_total', 'Proxied responses by upstream and status class (the gateway\'s own 502/504 for that upstream included): the per-upstream error rate of a canary.'))
  readonly upstreamHealthy = this.add(new Gauge('drawbridge_upstream_healthy', '1 when the upstream passes its health checks, 0 when it fails them (absent until checked).', 'min'))
  readonly upstreamInFlight = this.add(new Gauge('drawbridge_upstream_in_flight', 'Requests forwarded to each upstream and not finished yet.', 'sum'))
  readonly upstreamHeld = this.add(new Sampled('drawbridge_requests_held', 'Requests held by a pause (CONTRACT section 6), waiting for resume.', 'gauge'))
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

  /** snapshot() plus the process_* and nodejs_* families (see process-metrics.ts). */
  async snapshotAll (): Promise<MetricFamily[]> {
    const { processFamilies } = await import('./process-metrics.js')
    return [...this.snapshot(), ...await processFamilies()]
  }

  async renderAll (): Promise<string> {
    return renderFamilies(await this.snapshotAll())
  }
}
