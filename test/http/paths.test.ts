import t from 'tap'
import { blockView, compileAllowMatcher, compileBlockMatcher, emptyTarget, normalizePrefix, normalizeTarget, parseTarget } from '../../src/http/paths.js'

t.test('normalised paths of accepted targets', async (t) => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/health', '/health'],
    ['/a/b/', '/a/b/'],
    ['/a/../health', '/health'],
    ['/a//b///c', '/a/b/c'],
    ['/./health', '/health'],
    ['/health/.', '/health/'],
    ['/health/..', '/'],
    ['/%68ealth', '/health'],
    ['/x/%2E%2E/health', '/health'],
    ['/x/.%2e/health', '/health'],
    ['/caf%C3%A9', '/café'],
    ['/.well-known/x', '/.well-known/x'],
    ['/a/..b', '/a/..b'],
    ['/admin;x', '/admin;x'],
    ['/a%3Bb', '/a;b'],
    ['/q?x=%zz&a=/../', '/q'],
    ['http://example.com/a/../b?c', '/b'],
    ['HTTP://example.com', '/'],
    ['http://example.com?x=/y', '/'],
    ['*', '/*']
  ]
  for (const [input, expected] of cases) t.equal(normalizeTarget(input), expected, JSON.stringify(input))
})

t.test('refused targets (400)', async (t) => {
  const refused = [
    '/admin#x', '/admin#/../health', '/q?x#y',
    '/health/..\\admin', '/x\\y', '/q?a=\\',
    '/a\u0000b', '/a\u0001b', '/a\u007fb', '/a\tb', '/a b', '/caf\u00e9', '/q?\u00e9',
    '/bad%ZZ', '/bad%', '/bad%4', '/bad%C3', '/bad%FF',
    '//x/admin', '//health', 'http://h//x/admin',
    '/%2Fhealth', '/a%2fb', '/a%5Cb', '/x%00', '/x%0d%0a', '/x%7F',
    '/a%252Fb', '/%2561dmin',
    '/..', '/../etc/passwd', '/a/../..', '/%2e%2e/x',
    '/health/..;/admin', '/health/.;x/admin', '/v2/.////..', '/a//../b', '/health/;jsessionid=1/%2E./admin', '/health/;x/..', '/health/...', '/a/.%20/b', '/a/..%20/b', '/a/..%3B/b',
    'admin', '', 'ftp://h/a', 'http://user@h/a', 'http:///a'
  ]
  for (const input of refused) t.equal(normalizeTarget(input), null, JSON.stringify(input))
})

t.test('the upstream receives the normalised target with the original query', async (t) => {
  const out = emptyTarget()
  const forwarded: Array<[string, string]> = [
    ['/health?x=1', '/health?x=1'],
    ['/a/../b?x=/../y', '/b?x=/../y'],
    ['/%68ealth', '/health'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['/a%3bb', '/a%3Bb'],
    ['/a//b', '/a/b'],
    ['http://h:80/x?y', '/x?y']
  ]
  for (const [input, expected] of forwarded) {
    t.ok(parseTarget(input, out), input)
    t.equal(out.forward, expected, JSON.stringify(input))
    // Idempotent: the forwarded form parses to the same path and forwards unchanged.
    const path = out.path
    t.ok(parseTarget(expected, out))
    t.equal(out.path, path)
    t.equal(out.forward, expected)
  }
  // Fast path: a clean target is passed through as is (same string).
  const url = '/api/orders/42?page=2'
  t.ok(parseTarget(url, out))
  t.equal(out.forward, url)
  t.equal(out.path, '/api/orders/42')
})

t.test('normalizePrefix', async (t) => {
  t.equal(normalizePrefix('/v2/'), '/v2')
  t.equal(normalizePrefix('/'), '/')
  t.equal(normalizePrefix(' /health '), '/health')
  t.equal(normalizePrefix('//odd//prefix/'), '/odd/prefix')
})

t.test('block view: every spelling an upstream could read', async (t) => {
  t.equal(blockView('/api/x'), '/api/x')
  t.equal(blockView('/ADMIN'), '/admin')
  t.equal(blockView('/admin;jsessionid=1/x'), '/admin/x')
  t.equal(blockView('/;x/admin'), '/admin')
  t.equal(blockView('/admin./x'), '/admin/x')
  t.equal(blockView('/admin '), '/admin')
  t.equal(blockView('/\uff41dmin'), '/admin')
})

t.test('block matcher (small and large lists)', async (t) => {
  const fillers = Array.from({ length: 20 }, (_, i) => `/filler-${i}`)
  for (const [name, extra] of [['small', []], ['large', fillers]] as const) {
    const match = compileBlockMatcher(['/health', '/api/v2/', ...extra])
    t.ok(match('/health'), `${name}: exact`)
    t.ok(match('/health/'), `${name}: trailing slash`)
    t.ok(match('/health/deep/x'), `${name}: below`)
    t.notOk(match('/health-admin'), `${name}: not a segment prefix`)
    t.notOk(match('/healt'), `${name}: shorter`)
    t.ok(match('/api/v2'), `${name}: prefix given with trailing slash`)
    t.ok(match('/api/v2/orders'), `${name}: below trailing-slash prefix`)
    t.notOk(match('/api/v20'), `${name}: /api/v20`)
    t.notOk(match('/'), `${name}: root`)
    t.ok(match('/HEALTH'), `${name}: case`)
    t.ok(match('/Api/V2/x'), `${name}: case, deeper`)
    t.ok(match('/health;x'), `${name}: ;params`)
    t.ok(match('/api;a/v2;b/x'), `${name}: ;params in every segment`)
  }
  t.notOk(compileBlockMatcher([])('/x'))
  t.ok(compileBlockMatcher(['/'])('/anything'))
  t.ok(compileBlockMatcher(['/Admin'])('/admin'), 'the prefix is folded too')
})

t.test('allow matcher: the exact normalised path only', async (t) => {
  const match = compileAllowMatcher(['/health', '/api/public/'])
  t.ok(match('/health'))
  t.ok(match('/health/live'))
  t.ok(match('/api/public/x'))
  t.notOk(match('/Health'), 'case-sensitive')
  t.notOk(match('/health;x'), ';params')
  t.notOk(match('/health/x;y'), ';params deeper')
  t.notOk(match('/health-admin'))
  t.notOk(match('/health.'))
  t.notOk(compileAllowMatcher([])('/health'))
})
