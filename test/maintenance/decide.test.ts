import t from 'tap'
import { defaultMaintenance, type MaintenanceState } from '../../src/state/types.js'
import { compileFallback, compileMaintenance, EMPTY_TEMPLATE } from '../../src/maintenance/compile.js'
import { decide } from '../../src/maintenance/decide.js'
import { parseTemplate } from '../../src/maintenance/page.js'
import type { RequestFacts } from '../../src/maintenance/types.js'

const KEY = 'test-signing-key-0123456789abcdef'
const NOW = Date.parse('2026-11-22T02:00:00Z')

function compile (patch: Partial<MaintenanceState>, template = EMPTY_TEMPLATE) {
  return compileMaintenance({ ...defaultMaintenance(), enabled: true, ...patch }, { signingKey: KEY, template, cookieTtlSeconds: 43200 })
}

function facts (patch: Partial<RequestFacts> = {}): RequestFacts {
  return { method: 'GET', path: '/', ip: '203.0.113.9', bypassCookie: undefined, bypassHeader: undefined, ...patch }
}

t.test('maintenance off passes everything', async (t) => {
  const c = compile({ enabled: false })
  t.same(decide(facts({ method: 'POST' }), c, NOW), { action: 'pass', rule: 'maintenance-off' })
})

t.test('scheduled window', async (t) => {
  const c = compile({ startsAt: '2026-11-22T01:00:00Z', endsAt: '2026-11-22T03:00:00Z' })
  t.equal(decide(facts(), c, Date.parse('2026-11-22T00:59:59Z')).rule, 'outside-window', 'before startsAt')
  t.equal(decide(facts(), c, Date.parse('2026-11-22T01:00:00Z')).rule, 'maintenance', 'at startsAt')
  t.equal(decide(facts(), c, Date.parse('2026-11-22T02:59:59Z')).rule, 'maintenance', 'inside')
  t.equal(decide(facts(), c, Date.parse('2026-11-22T03:00:00Z')).rule, 'outside-window', 'at endsAt')
  const open = compile({ startsAt: '2026-11-22T01:00:00Z' })
  t.equal(decide(facts(), open, NOW + 1e9).rule, 'maintenance', 'no end')
})

t.test('paths scope and exceptPaths, after normalisation', async (t) => {
  const scoped = compile({ paths: ['/api/'] })
  t.equal(decide(facts({ path: '/web' }), scoped, NOW).rule, 'outside-paths')
  t.equal(decide(facts({ path: '/api' }), scoped, NOW).rule, 'maintenance')
  t.equal(decide(facts({ path: '/api/orders' }), scoped, NOW).rule, 'maintenance')
  t.equal(decide(facts({ path: '/apiary' }), scoped, NOW).rule, 'outside-paths')
  t.equal(decide(facts({ path: '/web/../api/x' }), scoped, NOW).rule, 'maintenance', '.. cannot escape the scope')
  t.equal(decide(facts({ path: '/%61pi/x' }), scoped, NOW).rule, 'maintenance', 'percent-encoding cannot escape the scope')

  const except = compile({ exceptPaths: ['/health'] })
  t.equal(decide(facts({ path: '/health' }), except, NOW).rule, 'except-path')
  t.equal(decide(facts({ path: '/health/live' }), except, NOW).rule, 'except-path')
  t.equal(decide(facts({ path: '/health-admin' }), except, NOW).rule, 'maintenance')
  t.equal(decide(facts({ path: '/a/../health' }), except, NOW).rule, 'except-path')
  t.equal(decide(facts({ path: '/a//health' }), except, NOW).rule, 'maintenance', 'duplicate slashes merge, /a/health is not excepted')
  t.equal(decide(facts({ path: '//health' }), except, NOW).rule, 'bad-target', 'a leading // reads as a host to URL parsers')
  t.equal(decide(facts({ path: '/%2Fhealth' }), except, NOW).rule, 'bad-target', 'an encoded slash is refused')
  t.equal(decide(facts({ path: '/Health' }), except, NOW).rule, 'maintenance', 'exceptions are case-sensitive')
  t.equal(decide(facts({ path: '/health;x' }), except, NOW).rule, 'maintenance', 'nor with ;params')
  t.equal(decide(facts({ path: '/health/../admin' }), except, NOW).rule, 'maintenance', 'an excepted prefix cannot be climbed out of')
  t.equal(decide(facts({ path: '/health%2F..%2Fadmin' }), except, NOW).rule, 'bad-target', 'nor with encoded slashes')
  t.equal(decide(facts({ path: '/health/..;/admin' }), except, NOW).rule, 'bad-target', 'nor with a dot segment behind ;params')
  t.equal(decide(facts({ path: '/API/x' }), scoped, NOW).rule, 'maintenance', 'the scope blocks every case')
  t.equal(decide(facts({ path: '/api;x/y' }), scoped, NOW).rule, 'maintenance', 'and ;params')
})

t.test('allowlist (IPv4, IPv6, mapped)', async (t) => {
  const c = compile({ allow: ['10.0.0.0/8', '2001:db8::/32'] })
  t.equal(decide(facts({ ip: '10.1.2.3' }), c, NOW).rule, 'allowlist')
  t.equal(decide(facts({ ip: '::ffff:10.1.2.3' }), c, NOW).rule, 'allowlist')
  t.equal(decide(facts({ ip: '2001:db8::5' }), c, NOW).rule, 'allowlist')
  t.equal(decide(facts({ ip: '11.1.2.3' }), c, NOW).rule, 'maintenance')
  t.equal(decide(facts({ ip: '' }), c, NOW).rule, 'maintenance')
})

t.test('bypass URL, cookie and header', async (t) => {
  const secret = 'b6f1c0d2e3a4958677a8b9c0d1e2f3a4'
  const c = compile({ secret })
  t.same(decide(facts({ path: `/${secret}` }), c, NOW), { action: 'set-bypass', rule: 'bypass-url' })
  t.same(decide(facts({ path: `/${secret}`, method: 'POST' }), c, NOW), { action: 'reject', rule: 'secret-path', status: 404 }, 'only GET sets the cookie; other methods 404')
  for (const p of [`/${secret}x`, `/${secret}/`, `/${secret}/x`]) t.equal(decide(facts({ path: p }), c, NOW).rule, 'secret-path', `${p.replace(secret, '<secret>')}: 404`)
  t.equal(decide(facts({ path: `/${secret.slice(0, -1)}0` }), c, NOW).rule, 'maintenance')
  t.equal(decide(facts({ path: `/x/../${secret}` }), c, NOW).rule, 'bypass-url', 'matched after normalisation')
  const scoped = compile({ secret, paths: ['/api'] })
  t.equal(decide(facts({ path: `/${secret}` }), scoped, NOW).rule, 'bypass-url', 'works with a path scope')
  t.equal(decide(facts({ path: `/${secret}` }), compile({ secret, enabled: false }), NOW).rule, 'bypass-url', 'answered by the gateway when off, never proxied')
  t.equal(decide(facts({ path: `/${secret}/x` }), compile({ secret, enabled: false }), NOW).rule, 'secret-path', 'nor anything below it')

  const cookie = c.signer?.issue(NOW, 43200) as string
  t.equal(decide(facts({ bypassCookie: cookie }), c, NOW).rule, 'bypass-cookie')
  t.equal(decide(facts({ bypassCookie: cookie, method: 'DELETE' }), c, NOW).rule, 'bypass-cookie')
  t.equal(decide(facts({ bypassCookie: cookie }), c, NOW + 43201_000).rule, 'maintenance', 'expired')
  t.equal(decide(facts({ bypassCookie: cookie }), compile({ secret: 'another-secret-value-123456' }), NOW).rule, 'maintenance', 'rotated secret')
  t.equal(decide(facts({ bypassCookie: cookie }), compile({ secret: null }), NOW).rule, 'maintenance', 'cleared secret')

  const forged = 'v1.9999999999.' + 'A'.repeat(43)
  t.equal(decide(facts({ bypassCookie: [forged, cookie] }), c, NOW).rule, 'bypass-cookie', 'a forged first cookie does not hide a valid one')
  t.equal(decide(facts({ bypassCookie: [forged, forged] }), c, NOW).rule, 'maintenance')

  t.equal(decide(facts({ bypassHeader: secret, method: 'POST' }), c, NOW).rule, 'bypass-header')
  t.equal(decide(facts({ bypassHeader: secret + ' ' }), c, NOW).rule, 'maintenance')
  t.equal(decide(facts({ bypassHeader: '' }), c, NOW).rule, 'maintenance')
  t.equal(decide(facts({ bypassHeader: secret }), compile({ secret: null }), NOW).rule, 'maintenance', 'no secret, no header bypass')
})

t.test('bypass cookies are bound to the secret generation, not its value', async (t) => {
  const secret = 'b6f1c0d2e3a4958677a8b9c0d1e2f3a4'
  const first = compile({ secret, secretId: 'gen-1' })
  const cookie = first.signer?.issue(NOW, 43200) as string
  t.equal(decide(facts({ bypassCookie: cookie }), compile({ secret, secretId: 'gen-1' }), NOW).rule, 'bypass-cookie', 'same generation')
  t.equal(decide(facts({ bypassCookie: cookie }), compile({ secret, secretId: 'gen-3' }), NOW).rule, 'maintenance', 'the same value set again is a new generation')
  const legacy = compile({ secret }).signer?.issue(NOW, 43200) as string
  t.equal(decide(facts({ bypassCookie: legacy }), compile({ secret }), NOW).rule, 'bypass-cookie', 'a state without a generation keeps the value binding of older versions')
  t.equal(decide(facts({ bypassCookie: legacy }), first, NOW).rule, 'maintenance')
})

t.test('read-only mode', async (t) => {
  const c = compile({ mode: 'read-only' })
  for (const method of ['GET', 'HEAD', 'OPTIONS']) t.equal(decide(facts({ method }), c, NOW).rule, 'read-only', method)
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) t.equal(decide(facts({ method }), c, NOW).rule, 'maintenance', method)
})

t.test('redirect', async (t) => {
  const c = compile({ redirect: 'https://status.example.com/' })
  t.same(decide(facts(), c, NOW), { action: 'redirect', rule: 'redirect', location: 'https://status.example.com/' })
  t.equal(decide(facts({ ip: '10.0.0.1' }), compile({ redirect: 'https://x/', allow: ['10.0.0.0/8'] }), NOW).rule, 'allowlist', 'allowlist wins over redirect')
})

t.test('Retry-After from retryAfter, from endsAt, or none', async (t) => {
  t.same(decide(facts(), compile({ retryAfter: 300, endsAt: '2026-11-22T03:00:00Z' }), NOW), { action: 'block', rule: 'maintenance', retryAfter: 300 })
  const c = compile({ endsAt: '2026-11-22T03:00:00Z' })
  t.same(decide(facts(), c, NOW), { action: 'block', rule: 'maintenance', retryAfter: 3600 })
  t.same(decide(facts(), c, NOW + 1), { action: 'block', rule: 'maintenance', retryAfter: 3600 }, 'rounded up')
  t.same(decide(facts(), c, NOW + 1000), { action: 'block', rule: 'maintenance', retryAfter: 3599 })
  t.same(decide(facts(), c, Date.parse('2026-11-22T02:59:59.500Z')), { action: 'block', rule: 'maintenance', retryAfter: 1 })
  t.same(decide(facts(), compile({}), NOW), { action: 'block', rule: 'maintenance', retryAfter: null })
})

t.test('rendered 503 follows the countdown and is re-rendered at most once per second', async (t) => {
  const c = compile({ endsAt: '2026-11-22T03:00:00Z', message: '<b>DB</b> upgrade' }, parseTemplate('{{message}}|{{retryAfter}}|{{endsAt}}'))
  const a = c.responses(NOW)
  t.equal(a.html.body.toString(), '&lt;b&gt;DB&lt;/b&gt; upgrade|3600|2026-11-22T03:00:00.000Z')
  t.same(JSON.parse(a.json.body.toString()), { error: 'maintenance', message: '<b>DB</b> upgrade', retryAfter: 3600, endsAt: '2026-11-22T03:00:00.000Z' })
  t.equal(c.responses(NOW + 500), a, 'same second: same buffers')
  const b = c.responses(NOW + 1000)
  t.not(b, a)
  t.equal(b.html.body.toString(), '&lt;b&gt;DB&lt;/b&gt; upgrade|3599|2026-11-22T03:00:00.000Z')
  t.match(b.html.headers, ['content-type', 'text/html; charset=utf-8'])
  t.ok(b.html.headers.includes('retry-after'))
  t.equal(b.html.headers[b.html.headers.indexOf('retry-after') + 1], '3599')
  t.equal(b.html.headers[b.html.headers.indexOf('cache-control') + 1], 'no-store')
})

t.test('fail policy before state loads', async (t) => {
  t.equal(decide(facts(), compileFallback('open', EMPTY_TEMPLATE, 60), NOW).rule, 'maintenance-off')
  t.same(decide(facts(), compileFallback('closed', EMPTY_TEMPLATE, 60), NOW), { action: 'block', rule: 'maintenance', retryAfter: 5 })
})

t.test('invalid allowlist entries in a stored state are skipped, not fatal', async (t) => {
  const bad: string[] = []
  const c = compileMaintenance({ ...defaultMaintenance(), enabled: true, allow: ['nope', '10.0.0.0/8'] },
    { signingKey: KEY, template: EMPTY_TEMPLATE, cookieTtlSeconds: 60, onInvalidCidr: (e) => bad.push(e) })
  t.same(bad, ['nope'])
  t.equal(decide(facts({ ip: '10.0.0.1' }), c, NOW).rule, 'allowlist')
})
