import t from 'tap'
import { aggregateFamilies } from '../src/metrics-aggregate.js'
import { Counter, Gauge, Histogram, Metrics, renderFamilies } from '../src/metrics.js'

t.test('a single registry renders as before: HELP, TYPE, samples', async (t) => {
  const metrics = new Metrics()
  metrics.requests.inc({ decision: 'pass', rule: 'maintenance-off' }, 3)
  metrics.upstreamLatency.observe(0.02)
  const text = metrics.render()
  t.match(text, /^# HELP drawbridge_requests_total .+\n# TYPE drawbridge_requests_total counter\ndrawbridge_requests_total\{decision="pass",rule="maintenance-off"\} 3\n/m)
  t.match(text, /drawbridge_upstream_response_seconds_bucket\{le="0.01"\} 0\ndrawbridge_upstream_response_seconds_bucket\{le="0.025"\} 1\n/)
  t.match(text, /drawbridge_upstream_response_seconds_bucket\{le="\+Inf"\} 1\ndrawbridge_upstream_response_seconds_sum 0.02\ndrawbridge_upstream_response_seconds_count 1\n/)
})

t.test('workers\' snapshots aggregate as prom-client\'s cluster registry does', async (t) => {
  const worker = (requests: number, version: number, connected: number, latency: number[]): ReturnType<Metrics['snapshot']> => {
    const m = new Metrics()
    m.requests.inc({ decision: 'pass', rule: 'maintenance-off' }, requests)
    for (const l of latency) m.upstreamLatency.observe(l)
    m.stateVersion.set(version)
    m.storeConnected.set(connected)
    m.maintenanceEnabled.set(0)
    return m.snapshot()
  }
  const zero = worker(5, 7, 1, [0.001])
  // Only worker 0 has this one (webhooks run there).
  const hooks = new Counter('drawbridge_webhook_deliveries_total', 'x')
  hooks.inc({ outcome: 'delivered' }, 2)
  zero.push(hooks.snapshot())
  const one = worker(8, 6, 0, [0.001, 3])
  // JSON round trip: what crosses the IPC channel.
  const text = renderFamilies(aggregateFamilies(JSON.parse(JSON.stringify([zero, one]))))
  t.match(text, /^drawbridge_requests_total\{decision="pass",rule="maintenance-off"\} 13$/m, 'counters add up')
  t.match(text, /^drawbridge_upstream_response_seconds_bucket\{le="0.005"\} 2$/m, 'histogram buckets add up')
  t.match(text, /^drawbridge_upstream_response_seconds_count 3$/m)
  t.match(text, /^drawbridge_state_version 6$/m, 'the oldest version any worker holds')
  t.match(text, /^drawbridge_store_connected 0$/m, 'disconnected if any worker is')
  t.match(text, /^drawbridge_webhook_deliveries_total\{outcome="delivered"\} 2$/m, 'a family only one worker has is kept')
  t.equal(text.match(/^# TYPE drawbridge_requests_total counter$/gm)?.length, 1, 'one family, once')
})

t.test('gauge aggregators', async (t) => {
  const snap = (v: number): ReturnType<Metrics['snapshot']> => {
    const g = [new Gauge('a', 'x', 'sum'), new Gauge('b', 'x', 'min'), new Gauge('c', 'x', 'max'), new Gauge('d', 'x', 'first')]
    for (const gauge of g) gauge.set(v)
    return g.map((gauge) => gauge.snapshot())
  }
  const text = renderFamilies(aggregateFamilies([snap(2), snap(5), snap(1)]))
  t.match(text, /^a 8$/m)
  t.match(text, /^b 1$/m)
  t.match(text, /^c 5$/m)
  t.match(text, /^d 2$/m)
  t.ok(new Histogram('h', 'x', [1]).snapshot().samples.length === 4)
})
