import t from 'tap'
import { ADMIN_TOKEN, auth, buildTestAdmin } from './helpers.js'

t.test('healthz and readyz with the embedded store', async (t) => {
  const { app, ctx } = await buildTestAdmin(t)
  const health = await app.inject({ method: 'GET', url: '/healthz' })
  t.equal(health.statusCode, 200)
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { ready: true, version: ctx.holder.current?.version })
})

t.test('metrics: Prometheus text with the state gauges read at scrape time', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  ctx.metrics.requests.inc({ rule: 'maintenance' })
  await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN), payload: { enabled: true } })
  const res = await app.inject({ method: 'GET', url: '/metrics' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.match(res.body, /# TYPE drawbridge_requests_total counter/)
  t.match(res.body, /drawbridge_requests_total\{rule="maintenance"\} 1/)
  t.match(res.body, /\ndrawbridge_maintenance_enabled 1\n/)
  t.match(res.body, /\ndrawbridge_store_connected 1\n/)
  t.match(res.body, new RegExp(`\\ndrawbridge_state_version ${String(ctx.holder.current?.version)}\\n`))
})

t.test('a store that cannot be reached: readyz 503 with the reason, writes 503, nothing hangs', async (t) => {
  // Port 9 (discard) is closed on any test machine: connections are refused at once.
  const { app } = await buildTestAdmin(t, ['--redis-url', 'redis://127.0.0.1:9'])
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { ready: false, reason: /\S/ })

  const started = Date.now()
  const write = await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { enabled: true } })
  t.equal(write.statusCode, 503)
  t.match(write.json(), { statusCode: 503, error: 'Service Unavailable', code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' })
  t.ok(Date.now() - started < 5000, 'answered within the store timeouts')

  const read = await app.inject({ method: 'GET', url: '/v1/maintenance' })
  t.match(read.json(), { statusCode: 503, code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' })
  const audit = await app.inject({ method: 'GET', url: '/v1/audit' })
  t.equal(audit.statusCode, 503)
  const metrics = await app.inject({ method: 'GET', url: '/metrics' })
  t.match(metrics.body, /\ndrawbridge_store_connected 0\n/)
})
