import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { WORKERS_SCRAPED_METRIC, WORKER_RESTARTS_METRIC } from '../../src/cluster/metrics-gather.js'
import { Metrics } from '../../src/metrics.js'
import { WEBHOOK_DELIVERIES_METRIC } from '../../src/webhooks/start-webhooks.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const doc = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8')

t.test('every registered metric is documented in docs/metrics.md', async (t) => {
  // Every metric the registry renders, whether or not it has samples yet.
  const names = [...new Metrics().render().matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => ({ name: m[1] as string, type: m[2] as string }))
  t.ok(names.length >= 6, `${names.length} metrics registered`)
  names.push({ name: WEBHOOK_DELIVERIES_METRIC, type: 'counter' }, { name: WORKER_RESTARTS_METRIC, type: 'counter' }, { name: WORKERS_SCRAPED_METRIC, type: 'gauge' })
  for (const { name, type } of names) {
    t.match(doc, new RegExp(`\\| \`${name}\` \\| ${type} \\|`), `${name} (${type}) has a row`)
  }
})

t.test('the doc names no metric that does not exist', async (t) => {
  const registered = new Set([...new Metrics().render().matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]))
  registered.add(WEBHOOK_DELIVERIES_METRIC).add(WORKER_RESTARTS_METRIC).add(WORKERS_SCRAPED_METRIC)
  for (const m of doc.matchAll(/^\| `(drawbridge_[a-z_]+)` \|/gm)) t.ok(registered.has(m[1]), `${m[1] as string} is registered`)
})
