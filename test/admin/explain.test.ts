import t from 'tap'
import { ADMIN_TOKEN, READ_TOKEN, auth, buildTestAdmin } from './helpers.js'

t.test('explain: the decision the gateway would take now, and the rule', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--read-token', READ_TOKEN])
  const ask = async (payload: object): Promise<{ statusCode: number, body: Record<string, unknown> }> => {
    const res = await app.inject({ method: 'POST', url: '/v1/explain', headers: auth(READ_TOKEN), payload })
    return { statusCode: res.statusCode, body: res.json() }
  }

  const off = await ask({ method: 'GET', path: '/shop', ip: '203.0.113.9', headers: {} })
  t.equal(off.statusCode, 200, 'a read token may ask')
  t.match(off.body, { action: 'pass', rule: 'maintenance-off', status: 200 })

  await app.inject({
    method: 'PATCH',
    url: '/v1/maintenance',
    headers: auth(ADMIN_TOKEN),
    payload: { enabled: true, retryAfter: 120, allow: ['10.0.0.0/8'], exceptPaths: ['/health'], secret: 'explain-secret-0123456789' }
  })
  t.match((await ask({ method: 'GET', path: '/shop', ip: '203.0.113.9' })).body, { action: 'block', rule: 'maintenance', status: 503, retryAfter: 120 })
  t.match((await ask({ method: 'GET', path: '/shop', ip: '10.1.2.3' })).body, { action: 'pass', rule: 'allowlist' })
  t.match((await ask({ method: 'GET', path: '/health/db', ip: '203.0.113.9' })).body, { action: 'pass', rule: 'except-path' })
  t.match((await ask({ method: 'GET', path: '/explain-secret-0123456789', ip: '203.0.113.9' })).body, { action: 'set-bypass', status: 302 })
  t.match((await ask({ method: 'POST', path: '/shop', ip: '203.0.113.9', headers: { 'X-Drawbridge-Bypass': 'explain-secret-0123456789' } })).body,
    { action: 'pass', rule: 'bypass-header' })

  const bad = await ask({ method: 'GET', path: '/', ip: 'not-an-ip' })
  t.match(bad, { statusCode: 400, body: { code: 'DRAWBRIDGE_ERR_INVALID', message: /body\/ip/ } })
  const missing = await ask({ method: 'GET', ip: '10.0.0.1' })
  t.match(missing, { statusCode: 400, body: { message: "body must have required property 'path'" } })
})

t.test('explain names the upstream a passed request goes to, and whether a pause holds it', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--upstreams', 'blue=http://127.0.0.1:9,green=http://127.0.0.1:9'])
  const ask = async (payload: object): Promise<Record<string, unknown>> => {
    const res = await app.inject({ method: 'POST', url: '/v1/explain', headers: auth(ADMIN_TOKEN), payload })
    t.equal(res.statusCode, 200)
    return res.json()
  }
  const routing = async (payload: object): Promise<void> => {
    const res = await app.inject({ method: 'PATCH', url: '/v1/routing', headers: auth(ADMIN_TOKEN), payload })
    t.equal(res.statusCode, 200, res.body)
  }
  t.match(await ask({ method: 'GET', path: '/shop', ip: '203.0.113.9' }), { upstream: 'blue', held: false }, 'the first upstream is active by default')
  await routing({ canary: { upstream: 'green', percentage: 100 }, force: true })
  t.match(await ask({ method: 'GET', path: '/shop', ip: '203.0.113.9' }), { upstream: 'green' }, 'a 100% canary takes every identity')
  await routing({ canary: null, paused: true })
  await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN), payload: { exceptPaths: ['/health'] } })
  t.match(await ask({ method: 'GET', path: '/shop', ip: '203.0.113.9' }), { upstream: 'blue', held: true }, 'paused: held')
  t.match(await ask({ method: 'GET', path: '/health', ip: '203.0.113.9' }), { upstream: 'blue', held: false }, 'exceptPaths are never held, maintenance off or on')
  await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN), payload: { enabled: true } })
  t.match(await ask({ method: 'GET', path: '/shop', ip: '203.0.113.9' }), { action: 'block', upstream: null, held: false }, 'blocked: no upstream')
})
