import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import { createBypassSigner } from '../../src/maintenance/bypass-cookie.js'
import { explain } from '../../src/maintenance/explain.js'
import { defaultMaintenance, type MaintenanceState, type SharedState } from '../../src/state/types.js'

const NOW = Date.parse('2026-11-22T02:00:00Z')
const config: Config = loadConfig(['--upstream', 'http://127.0.0.1:9'], {})

function state (patch: Partial<MaintenanceState>): SharedState {
  return { version: 1, maintenance: { ...defaultMaintenance(), enabled: true, ...patch }, flags: {}, overrides: {}, signingKey: 'k'.repeat(64) }
}

const req = (patch: Partial<Parameters<typeof explain>[0]> = {}): Parameters<typeof explain>[0] =>
  ({ method: 'GET', path: '/', ip: '203.0.113.9', headers: {}, ...patch })

t.test('explains each outcome with status, Retry-After and location', async (t) => {
  t.same(explain(req(), state({ enabled: false }), config, NOW), { action: 'pass', rule: 'maintenance-off', status: 200, retryAfter: null, location: null })
  t.same(explain(req(), state({ retryAfter: 120 }), config, NOW), { action: 'block', rule: 'maintenance', status: 503, retryAfter: 120, location: null })
  t.same(explain(req(), state({ endsAt: '2026-11-22T02:10:00Z' }), config, NOW), { action: 'block', rule: 'maintenance', status: 503, retryAfter: 600, location: null })
  t.same(explain(req(), state({ redirect: 'https://status.example.com' }), config, NOW), { action: 'redirect', rule: 'redirect', status: 307, retryAfter: null, location: 'https://status.example.com' })
  t.same(explain(req({ path: '/s3cret-value-0123456789' }), state({ secret: 's3cret-value-0123456789' }), config, NOW),
    { action: 'set-bypass', rule: 'bypass-url', status: 302, retryAfter: null, location: '/' })
  t.equal(explain(req({ path: '/__drawbridge/status' }), state({}), config, NOW).rule, 'reserved')
  t.equal(explain(req({ path: '/health?probe=1' }), state({ exceptPaths: ['/health'] }), config, NOW).rule, 'except-path', 'query ignored')
  t.equal(explain(req({ path: '/a/../health' }), state({ exceptPaths: ['/health'] }), config, NOW).rule, 'except-path', 'normalised')
  t.same(explain(req({ path: '/admin#/../health' }), state({ exceptPaths: ['/health'] }), config, NOW),
    { action: 'reject', rule: 'bad-target', status: 400, retryAfter: null, location: null }, 'a target the gateway refuses')
  t.same(explain(req({ path: '/s3cret-value-0123456789/x' }), state({ enabled: false, secret: 's3cret-value-0123456789' }), config, NOW),
    { action: 'reject', rule: 'secret-path', status: 404, retryAfter: null, location: null }, 'below the secret, maintenance off')
  t.equal(explain(req({ path: '/ADMIN;x' }), state({ paths: ['/admin'] }), config, NOW).rule, 'maintenance', 'the scope in every spelling')
  t.equal(explain(req({ ip: '10.1.1.1' }), state({ allow: ['10.0.0.0/8'] }), config, NOW).rule, 'allowlist')
  t.equal(explain(req({ method: 'head' }), state({ mode: 'read-only' }), config, NOW).rule, 'read-only', 'method case-insensitive')
})

t.test('bypass header and cookie from the given headers (any case)', async (t) => {
  const s = state({ secret: 'explain-secret-0123456789' })
  t.equal(explain(req({ headers: { 'X-Drawbridge-Bypass': 'explain-secret-0123456789' } }), s, config, NOW).rule, 'bypass-header')
  const cookie = createBypassSigner(s.signingKey, 'explain-secret-0123456789').issue(NOW, 60)
  t.equal(explain(req({ headers: { Cookie: `a=b; drawbridge_bypass=${cookie}` } }), s, config, NOW).rule, 'bypass-cookie')
  const configured = { ...config, signingKey: 'configured-signing-key-0123456789' }
  t.equal(explain(req({ headers: { cookie: `drawbridge_bypass=${cookie}` } }), s, configured, NOW).rule, 'maintenance', 'config.signingKey wins over the stored key')
})

t.test('no state yet: the fail policy', async (t) => {
  t.equal(explain(req(), null, config, NOW).rule, 'maintenance-off')
  t.equal(explain(req(), null, { ...config, failPolicy: 'closed' }, NOW).rule, 'maintenance')
})
