import t from 'tap'
import { compilePathMatcher, normalizePath, normalizePrefix, requestPath } from '../../src/maintenance/paths.js'

t.test('normalizePath', async (t) => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/health', '/health'],
    ['/a/b/', '/a/b/'],
    ['/a/../health', '/health'],
    ['//health', '/health'],
    ['/a//b///c', '/a/b/c'],
    ['/./health', '/health'],
    ['/health/.', '/health/'],
    ['/health/..', '/'],
    ['/../../..', '/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/%68ealth', '/health'],
    ['/%2Fhealth', '/health'],
    ['/%2fhealth', '/health'],
    ['/x%2F..%2Fhealth', '/health'],
    ['/x/%2E%2E/health', '/health'],
    ['/caf%C3%A9', '/café'],
    ['/bad%ZZ', '/bad%ZZ'],
    ['/bad%C3', '/bad\uFFFD'],
    ['/.well-known/x', '/.well-known/x'],
    ['/a/..b', '/a/..b'],
    ['health', '/health'],
    ['', '/']
  ]
  for (const [input, expected] of cases) t.equal(normalizePath(input), expected, JSON.stringify(input))
  // Decoding happens once: a double-encoded slash stays a literal segment character.
  t.equal(normalizePath('/a%252F..%252Fb'), '/a%2F..%2Fb')
})

t.test('requestPath strips the query and handles absolute-form targets', async (t) => {
  t.equal(requestPath('/a/b?x=1'), '/a/b')
  t.equal(requestPath('/a/b'), '/a/b')
  t.equal(requestPath('http://example.com/a?b'), '/a')
  t.equal(requestPath('http://example.com'), '/')
  t.equal(requestPath('http://example.com?x=/y'), '/')
  t.equal(requestPath('*'), '/*')
})

t.test('normalizePrefix', async (t) => {
  t.equal(normalizePrefix('/v2/'), '/v2')
  t.equal(normalizePrefix('/'), '/')
  t.equal(normalizePrefix(' /health '), '/health')
})

t.test('segment-prefix matcher (small and large lists)', async (t) => {
  const fillers = Array.from({ length: 20 }, (_, i) => `/filler-${i}`)
  for (const [name, extra] of [['small', []], ['large', fillers]] as const) {
    const match = compilePathMatcher(['/health', '/api/v2/', ...extra])
    t.ok(match('/health'), `${name}: exact`)
    t.ok(match('/health/'), `${name}: trailing slash`)
    t.ok(match('/health/deep/x'), `${name}: below`)
    t.notOk(match('/health-admin'), `${name}: not a segment prefix`)
    t.notOk(match('/healt'), `${name}: shorter`)
    t.ok(match('/api/v2'), `${name}: prefix given with trailing slash`)
    t.ok(match('/api/v2/orders'), `${name}: below trailing-slash prefix`)
    t.notOk(match('/api/v20'), `${name}: /api/v20`)
    t.notOk(match('/'), `${name}: root`)
    t.ok(match(normalizePath('/a/../health')), `${name}: after normalisation`)
    t.ok(match(normalizePath('//health')), `${name}: duplicate slash`)
    t.ok(match(normalizePath('/%2Fhealth')), `${name}: encoded slash`)
  }
  t.notOk(compilePathMatcher([])('/x'))
  t.ok(compilePathMatcher(['/'])('/anything'))
})
