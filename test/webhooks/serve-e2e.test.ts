import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { stringify } from 'yaml'
import { verifySignature } from '../../src/webhooks/signature.js'
import { runDrawbridge, spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { startReceiver } from './receiver.js'

// The real binary: webhooks from the config file are wired into `serve`.

const TOKEN = 'e2e-admin-token-0123456789'
const SECRET = 'e2e-webhook-secret'

function configFile (t: Test, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-webhooks-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'drawbridge.yaml')
  writeFileSync(file, stringify(content))
  return file
}

t.test('drawbridge serve delivers webhooks for admin changes and audits them', async (t) => {
  const rx = await startReceiver(t)
  const up = await startUpstream(t)
  const file = configFile(t, { webhooks: [{ url: rx.url, events: ['maintenance.*'], secret: SECRET }] })
  const gw = await spawnGateway(t, ['--upstream', up.url, '--config', file, '--admin-token', TOKEN])
  // The admin API directly (the CLI's own tests cover the CLI): each extra process costs seconds here.
  const patch = async (body: unknown): Promise<number> => (await fetch(`http://${gw.admin}/v1/maintenance`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })).status

  t.equal(await patch({ enabled: true, message: 'Upgrading the database' }), 200)
  const enabled = await rx.next()
  t.equal(enabled.headers['x-drawbridge-event'], 'maintenance.enabled')
  t.ok(verifySignature(SECRET, enabled.body, enabled.headers['x-drawbridge-signature'] as string))
  t.match(JSON.parse(enabled.body).text, /Maintenance is ON \(by admin\): "Upgrading the database"/)

  t.equal(await patch({ enabled: false }), 200)
  t.equal((await rx.next()).headers['x-drawbridge-event'], 'maintenance.disabled')

  // Outcomes are audited after the delivery: poll briefly.
  let delivered = 0
  for (let i = 0; i < 50 && delivered < 2; i++) {
    const res = await fetch(`http://${gw.admin}/v1/audit`, { headers: { authorization: `Bearer ${TOKEN}` } })
    const body = await res.json() as { entries?: Array<{ action: string }> } | Array<{ action: string }>
    const entries = Array.isArray(body) ? body : body.entries ?? []
    delivered = entries.filter((e) => e.action === 'webhook.delivered').length
    if (delivered < 2) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.equal(delivered, 2, 'both deliveries in GET /v1/audit')
  t.equal(await gw.stop(), 0, 'SIGTERM closes the webhooks with everything else')
})

t.test('a webhook event name that matches nothing stops serve with exit code 2', async (t) => {
  const file = configFile(t, { webhooks: [{ url: 'https://hooks.example.com/x', events: ['maintenance.enable'] }] })
  const res = await runDrawbridge(['serve', '--upstream', 'http://127.0.0.1:9', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--config', file])
  t.equal(res.code, 2)
  t.match(res.stderr, /webhooks\[0\]\.events/)
})
