import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import { verifySignature } from '../../src/webhooks/signature.js'
import { startWebhooks } from '../../src/webhooks/start-webhooks.js'
import { startReceiver, webhookContext } from './receiver.js'

const SECRET = 'whsec-0123456789'
const FAST = { backoffMs: 20, maxBackoffMs: 40, timeoutMs: 300 }

t.test('delivers a signed JSON body with a Slack text and records it in the audit log', async (t) => {
  const rx = await startReceiver(t)
  const ctx = await webhookContext(t, [{ url: rx.url, events: ['*'], secret: SECRET }])
  const hooks = startWebhooks(ctx, FAST)
  t.teardown(() => hooks.close())

  ctx.events.publish('maintenance.enabled', 'alice', { maintenance: { enabled: true, message: 'DB <upgrade>', endsAt: '2026-11-22T03:00:00Z', secret: 'bypass-secret-value', mode: 'full' } })
  const got = await rx.next()
  await hooks.drained()

  t.equal(got.headers['content-type'], 'application/json')
  t.equal(got.headers['x-drawbridge-event'], 'maintenance.enabled')
  t.match(got.headers['x-drawbridge-delivery'], /^[0-9a-f-]{36}$/)
  t.match(got.headers['x-drawbridge-signature'], /^sha256=[0-9a-f]{64}$/)
  t.ok(verifySignature(SECRET, got.body, got.headers['x-drawbridge-signature'] as string), 'signature verifies over the raw body')
  t.notOk(verifySignature('another-secret', got.body, got.headers['x-drawbridge-signature'] as string), 'and fails with another secret')
  t.notOk(verifySignature(SECRET, got.body + ' ', got.headers['x-drawbridge-signature'] as string), 'and over another body')

  const body = JSON.parse(got.body)
  t.same(Object.keys(body).sort(), ['actor', 'at', 'data', 'event', 'text'])
  t.equal(body.event, 'maintenance.enabled')
  t.equal(body.actor, 'alice')
  t.match(body.at, /^\d{4}-\d\d-\d\dT/)
  t.equal(body.data.maintenance.secret, '[redacted]', 'the bypass secret never leaves the process')
  t.notMatch(got.body, /bypass-secret-value/)
  t.equal(body.text, ':construction: Maintenance is ON (by alice): "DB &lt;upgrade&gt;". Expected back at 2026-11-22T03:00:00Z.')

  const audit = await ctx.store.listAudit(10)
  const entry = audit.find((e) => e.action === 'webhook.delivered')
  t.ok(entry, 'webhook.delivered audited')
  t.equal(entry?.target, `webhooks[0] ${new URL(rx.url).origin}`, 'target shows the origin only')
  t.match(entry?.after, { event: 'maintenance.enabled', attempts: 1, status: 200, error: null })
  t.match(ctx.metrics.render(), /drawbridge_webhook_deliveries_total\{outcome="delivered"\} 1/)
})

t.test('no signature header without a secret', async (t) => {
  const rx = await startReceiver(t)
  const ctx = await webhookContext(t, [{ url: rx.url, events: ['*'] }])
  const hooks = startWebhooks(ctx, FAST)
  t.teardown(() => hooks.close())
  ctx.events.publish('flag.changed', 'bob', { action: 'flag.enable', key: 'new-checkout', enabled: true })
  const got = await rx.next()
  t.equal(got.headers['x-drawbridge-signature'], undefined)
  t.equal(JSON.parse(got.body).text, ':triangular_flag_on_post: Flag `new-checkout` enabled (by bob).')
})

t.test('retries after a 500 with the same delivery id, then succeeds', async (t) => {
  const rx = await startReceiver(t, (n) => n < 2 ? 500 : 204)
  const ctx = await webhookContext(t, [{ url: rx.url, events: ['migration.*'], secret: SECRET }])
  const hooks = startWebhooks(ctx, FAST)
  t.teardown(() => hooks.close())

  ctx.events.publish('migration.succeeded', 'deploy-bot', { runId: 'r1', dryRun: false, status: 'succeeded', migrations: ['002_orders'] })
  await hooks.drained()
  t.equal(rx.received.length, 3, 'two failures, then the success')
  const ids = new Set(rx.received.map((r) => r.headers['x-drawbridge-delivery']))
  t.equal(ids.size, 1, 'one delivery id across attempts')
  t.same(rx.received.map((r) => r.headers['x-drawbridge-attempt']), ['1', '2', '3'])
  t.ok((rx.received[2]?.at ?? 0) - (rx.received[0]?.at ?? 0) >= 20, 'backed off between attempts')
  for (const r of rx.received) t.ok(verifySignature(SECRET, r.body, r.headers['x-drawbridge-signature'] as string))
  const entry = (await ctx.store.listAudit(10)).find((e) => e.action === 'webhook.delivered')
  t.match(entry?.after, { event: 'migration.succeeded', attempts: 3, status: 204 })
})

t.test('gives up after the last attempt and audits webhook.failed; a 4xx is not retried', async (t) => {
  const down = await startReceiver(t, () => 503)
  const gone = await startReceiver(t, () => 410)
  const ctx = await webhookContext(t, [{ url: down.url, events: ['*'] }, { url: gone.url, events: ['*'] }])
  const hooks = startWebhooks(ctx, { ...FAST, maxAttempts: 3 })
  t.teardown(() => hooks.close())

  ctx.events.publish('maintenance.disabled', 'alice', { maintenance: { enabled: false } })
  await hooks.drained()
  t.equal(down.received.length, 3)
  t.equal(gone.received.length, 1)
  const failed = (await ctx.store.listAudit(10)).filter((e) => e.action === 'webhook.failed')
  t.equal(failed.length, 2)
  t.match(failed.find((e) => e.target.startsWith('webhooks[0]'))?.after, { attempts: 3, status: 503, error: 'HTTP 503' })
  t.match(failed.find((e) => e.target.startsWith('webhooks[1]'))?.after, { attempts: 1, status: 410, error: 'HTTP 410' })
  t.match(ctx.metrics.render(), /drawbridge_webhook_deliveries_total\{outcome="failed"\} 2/)
})

t.test('a hanging receiver blocks neither the publisher nor the other webhooks', async (t) => {
  const hang = await startReceiver(t, () => null)
  const fast = await startReceiver(t)
  const ctx = await webhookContext(t, [{ url: hang.url, events: ['*'] }, { url: fast.url, events: ['*'] }])
  const hooks = startWebhooks(ctx, { backoffMs: 20, timeoutMs: 250, maxAttempts: 2 })
  t.teardown(() => hooks.close())

  const started = performance.now()
  for (let i = 0; i < 20; i++) ctx.events.publish('flag.changed', 'alice', { action: 'flag.update', key: `f${i}`, enabled: true })
  t.ok(performance.now() - started < 50, 'publish returns at once')

  while (fast.received.length < 20) await fast.next()
  t.equal(fast.received.length, 20, 'the healthy receiver got every event while the other hung')

  await hooks.drained()
  const failed = (await ctx.store.listAudit(100)).filter((e) => e.action === 'webhook.failed')
  t.equal(failed.length, 20)
  t.match(failed[0]?.after, { attempts: 2, status: null, error: /timed out after 250 ms/ })
})

t.test('an attempt times out even while the garbage collector runs (a timeout signal GC\'d inside AbortSignal.any hung it)', async (t) => {
  // nodejs/node#57736: on Node 20 a timeout signal held only by AbortSignal.any
  // can be collected before it fires. Force collections while every attempt
  // waits on a receiver that never answers: each must still time out.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const collecting = setInterval(gc, 5)
  t.teardown(() => { clearInterval(collecting) })
  const hang = await startReceiver(t, () => null)
  const ctx = await webhookContext(t, [{ url: hang.url, events: ['*'] }])
  const hooks = startWebhooks(ctx, { timeoutMs: 200, maxAttempts: 1, concurrency: 20 })
  t.teardown(() => hooks.close())
  for (let i = 0; i < 20; i++) ctx.events.publish('maintenance.enabled', 'a', {})
  const started = performance.now()
  const drained = await Promise.race([hooks.drained().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => { resolve(false) }, 10_000))])
  t.ok(drained, `every attempt ended (${Math.round(performance.now() - started)} ms), none hung`)
  const failed = (await ctx.store.listAudit(100)).filter((e) => e.action === 'webhook.failed')
  t.equal(failed.length, 20)
  t.match(failed[0]?.after, { attempts: 1, status: null, error: /timed out after 200 ms/ })
})

t.test('only subscribed events are sent', async (t) => {
  const rx = await startReceiver(t)
  const ctx = await webhookContext(t, [{ url: rx.url, events: ['maintenance.enabled', 'flag.*'] }])
  const hooks = startWebhooks(ctx, FAST)
  t.teardown(() => hooks.close())
  ctx.events.publish('migration.started', 'a', { runId: 'r' })
  ctx.events.publish('maintenance.disabled', 'a', {})
  ctx.events.publish('maintenance.enabled', 'a', {})
  ctx.events.publish('flag.changed', 'a', { key: 'k', action: 'flag.delete' })
  await hooks.drained()
  t.same(rx.received.map((r) => r.headers['x-drawbridge-event']).sort(), ['flag.changed', 'maintenance.enabled'])
})

t.test('the queue is bounded: overflow is dropped and counted, and close does not wait on a hung receiver', async (t) => {
  const hang = await startReceiver(t, () => null)
  const ctx = await webhookContext(t, [{ url: hang.url, events: ['*'] }])
  const hooks = startWebhooks(ctx, { timeoutMs: 30_000, maxQueue: 3, concurrency: 1 })
  for (let i = 0; i < 10; i++) ctx.events.publish('maintenance.enabled', 'a', {})
  t.match(ctx.metrics.render(), /drawbridge_webhook_deliveries_total\{outcome="dropped"\} 7/)
  await hang.next()
  const started = performance.now()
  await hooks.close()
  t.ok(performance.now() - started < 4000, 'close returned after its grace period, not the 30 s timeout')
  const failed = (await ctx.store.listAudit(10)).filter((e) => e.action === 'webhook.failed')
  t.equal(failed.length, 1, 'the in-flight delivery is recorded as failed')
})

t.test('no webhooks configured: nothing subscribes', async (t) => {
  const ctx = await webhookContext(t, [])
  const hooks = startWebhooks(ctx)
  t.equal(ctx.events.listenerCount('event'), 0)
  await hooks.close()
})
