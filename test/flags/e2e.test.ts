import t from 'tap'
import { request } from 'undici'
import { runDrawbridge, spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

const TOKEN = 'e2e-admin-token-0123456789'

t.test('the real binary: gates and X-Drawbridge-Flags at the gateway, flags set through the CLI', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--flags-identity', 'header:x-user-id', '--admin-token', TOKEN])
  const env = { DRAWBRIDGE_ADMIN_URL: `http://${gw.admin}`, DRAWBRIDGE_ADMIN_TOKEN: TOKEN }
  const adminCall = async (method: 'PUT' | 'PATCH', path: string, body: object): Promise<number> => {
    const res = await request(`http://${gw.admin}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body), reset: true })
    await res.body.text()
    return res.statusCode
  }
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await request(`http://${gw.gateway}${path}`, { headers, reset: true })
    const text = await res.body.text()
    return { status: res.statusCode, text, upstream: res.statusCode === 200 ? JSON.parse(text) as { url: string, headers: Record<string, string | undefined> } : null }
  }

  // Dark launch: enabled, but a 0% rollout keeps it off for everyone not pinned on.
  const created = await runDrawbridge(['flags', 'set', 'new-api', '--on', '--rollout', '0', '--gate-paths', '/v2', '--gate-status', '404'], env)
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /new-api: ON\n[\s\S]*rollout\s+0%/)
  t.equal(await adminCall('PUT', '/v1/flags/theme', { enabled: true, variants: [{ name: 'dark', weight: 1 }] }), 201)
  t.equal(await adminCall('PUT', '/v1/flags/new-api/overrides/alice', { enabled: true }), 200)

  const gated = await get('/v2/orders')
  t.equal(gated.status, 404, 'the gate answers while the flag is off for the request')
  t.equal((await get('/v2/../v2/orders', { 'x-user-id': 'bob' })).status, 404)
  t.equal((await get('/v2-old/x')).status, 200, 'whole path segments only')
  const open = await get('/v1/orders', { 'x-drawbridge-flags': 'new-api' })
  t.equal(open.status, 200)
  t.equal(open.upstream?.headers['x-drawbridge-flags'], 'theme=dark', 'a forged header is replaced by what drawbridge says')

  const alice = await get('/v2/orders', { 'x-user-id': 'alice' })
  t.equal(alice.status, 200, 'on for alice (override): proxied')
  t.equal(alice.upstream?.url, '/v2/orders')
  t.equal(alice.upstream?.headers['x-drawbridge-flags'], 'new-api,theme=dark')

  t.equal(await adminCall('PATCH', '/v1/flags/new-api', { rollout: { percentage: 100 } }), 200)
  t.equal((await get('/v2/orders', { 'x-user-id': 'bob' })).status, 200, 'rolled out to everyone')
  t.equal(await adminCall('PATCH', '/v1/flags/new-api', { enabled: false }), 200)
  t.equal((await get('/v2/orders', { 'x-user-id': 'alice' })).status, 404, 'disabled beats the override: the kill switch')

  const list = await runDrawbridge(['flags', 'list'], env)
  t.equal(list.code, 0, list.stderr)
  t.match(list.stdout, /new-api\s+off\s+100%\s+gate \/v2/)
  t.match(list.stdout, /theme\s+on\s+dark/)
  t.equal(await gw.stop(), 0)
})
