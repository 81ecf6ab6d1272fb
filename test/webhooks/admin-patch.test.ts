import t from 'tap'
import { startWebhooks } from '../../src/webhooks/start-webhooks.js'
import { ADMIN_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'
import { startReceiver } from './receiver.js'

// Through the real admin app: a webhook receiver that never answers must not
// slow down the PATCH that triggered the event.

t.test('PATCH /v1/maintenance answers at once while the webhook receiver hangs', async (t) => {
  const hang = await startReceiver(t, () => null)
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN], { webhooks: [{ url: hang.url, events: ['*'], secret: 'whsec-0123456789' }] })
  const hooks = startWebhooks(ctx, { timeoutMs: 10_000 })
  t.teardown(() => hooks.close())

  const started = performance.now()
  const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN), payload: { enabled: true, message: 'Upgrading', secret: true } })
  const elapsed = performance.now() - started
  t.equal(res.statusCode, 200)
  // The receiver hangs for the whole 10 s delivery timeout: well under that proves the PATCH did not wait, on a loaded machine too.
  t.ok(elapsed < 3000, `answered in ${Math.round(elapsed)} ms (the delivery would hang 10 s)`)
  const secret = res.json().secret as string
  t.ok(secret.length >= 16)

  const got = await hang.next()
  t.equal(got.headers['x-drawbridge-event'], 'maintenance.enabled')
  const body = JSON.parse(got.body)
  t.equal(body.actor, 'admin')
  t.equal(body.data.maintenance.enabled, true)
  t.notOk(got.body.includes(secret), 'the new bypass secret is not in the webhook body')
  t.match(body.text, /Maintenance is ON \(by admin\): "Upgrading"/)
})
