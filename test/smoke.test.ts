import t from 'tap'
import { Metrics } from '../src/metrics.js'

t.test('metrics render counters', async (t) => {
  const m = new Metrics()
  m.requests.inc({ rule: 'maintenance-off' })
  t.match(m.render(), /drawbridge_requests_total\{rule="maintenance-off"\} 1/)
})
