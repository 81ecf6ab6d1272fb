import t from 'tap'
import { request } from 'undici'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
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

t.test('explain and the gateway agree on flags: a gate answers, a prerequisite decides, the header the upstream gets', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', ADMIN_TOKEN, '--flags-identity', 'header:x-user'])
  const admin = async (method: string, path: string, body?: unknown): Promise<{ status: number, json: Record<string, unknown> }> => {
    const res = await request(`http://${gw.admin}${path}`, { method: method as 'PUT', headers: { ...auth(ADMIN_TOKEN), 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: res.statusCode, json: await res.body.json() as Record<string, unknown> }
  }
  const created = await admin('PUT', '/v1/flags/new-api', { enabled: false, gate: { paths: ['/v2/'], status: 404 } })
  t.equal(created.status, 201, JSON.stringify(created.json))
  t.equal((await admin('PUT', '/v1/flags/beta', { enabled: true })).status, 201)
  t.equal((await admin('PUT', '/v1/flags/checkout', { enabled: true, prerequisites: [{ flag: 'new-api', enabled: true }] })).status, 201)

  const cases: Array<{ path: string, gateway: number, explained: Record<string, unknown> }> = [
    { path: '/v2/orders', gateway: 404, explained: { action: 'block', rule: 'flag-gate:new-api', status: 404, upstream: null } },
    // Every spelling an upstream could read as the gated path is gated, here and at the gateway.
    { path: '/V2/orders;jsessionid=1', gateway: 404, explained: { action: 'block', rule: 'flag-gate:new-api', status: 404 } },
    { path: '/shop', gateway: 200, explained: { action: 'pass', rule: 'maintenance-off', status: 200, upstream: 'default' } }
  ]
  for (const c of cases) {
    const res = await request(`http://${gw.gateway}${c.path}`, { headers: { 'x-user': 'alice' } })
    const sent = res.statusCode === 200 ? await res.body.json() as { headers: Record<string, string> } : (await res.body.dump(), null)
    t.equal(res.statusCode, c.gateway, `${c.path}: the gateway answers ${c.gateway}`)
    const explained = await admin('POST', '/v1/explain', { method: 'GET', path: c.path, ip: '203.0.113.9', headers: { 'X-User': 'alice' } })
    t.match(explained.json, c.explained, `${c.path}: explain says the same`)
    const flags = explained.json.flags as { identity: string, header: string, flags: Array<{ key: string, reason: string }> }
    t.equal(flags.identity, 'alice')
    if (sent !== null) t.equal(sent.headers['x-drawbridge-flags'], flags.header, `${c.path}: the header the upstream got is the one explained (${flags.header})`)
  }
  const shop = (await admin('POST', '/v1/explain', { method: 'GET', path: '/shop', ip: '203.0.113.9', headers: { 'x-user': 'alice' } })).json
  t.match(shop.flags, {
    header: 'beta',
    gate: null,
    flags: [
      { key: 'beta', value: true, variant: null, reason: 'STATIC' },
      { key: 'checkout', value: false, reason: 'PREREQUISITE_FAILED' },
      { key: 'new-api', value: false, reason: 'DISABLED' }
    ]
  }, 'each flag with its reason: the prerequisite decided checkout')
  // Maintenance on: a blocked request never reaches flags.
  t.equal((await admin('PATCH', '/v1/maintenance', { enabled: true })).status, 200)
  t.match((await admin('POST', '/v1/explain', { method: 'GET', path: '/v2/orders', ip: '203.0.113.9' })).json, { action: 'block', rule: 'maintenance', status: 503, flags: null })
})
