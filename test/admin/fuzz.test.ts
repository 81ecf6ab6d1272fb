import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { request } from 'undici'
import { ROOT, spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { createDatabase, tempDir, writeMigrations } from '../migrations/helpers.js'

/**
 * Issue 17 "fault isolation": random and hostile bodies, parameters and query
 * strings at every admin route of the real binary. Every answer must be 2xx,
 * 3xx or 4xx (never 5xx), and afterwards the process is alive and the
 * gateway port still answers. FUZZ_RUNS=5000 for a longer session.
 */

const TOKEN = 'fuzz-admin-token-0123456789abcdef'
const RUNS = Number(process.env.FUZZ_RUNS ?? 400)

interface Route { method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body: boolean }
const ROUTES: Route[] = [
  { method: 'GET', path: '/healthz', body: false },
  { method: 'GET', path: '/readyz', body: false },
  { method: 'GET', path: '/metrics', body: false },
  { method: 'GET', path: '/v1/maintenance', body: false },
  { method: 'PATCH', path: '/v1/maintenance', body: true },
  { method: 'GET', path: '/v1/audit', body: false },
  { method: 'POST', path: '/v1/explain', body: true },
  { method: 'GET', path: '/v1/flags', body: false },
  { method: 'GET', path: '/v1/flags/:key', body: false },
  { method: 'PUT', path: '/v1/flags/:key', body: true },
  { method: 'PATCH', path: '/v1/flags/:key', body: true },
  { method: 'DELETE', path: '/v1/flags/:key', body: false },
  { method: 'GET', path: '/v1/flags/:key/overrides', body: false },
  { method: 'PUT', path: '/v1/flags/:key/overrides/:userId', body: true },
  { method: 'DELETE', path: '/v1/flags/:key/overrides/:userId', body: false },
  { method: 'GET', path: '/v1/users/:userId/flags', body: false },
  { method: 'POST', path: '/ofrep/v1/evaluate/flags/:key', body: true },
  { method: 'POST', path: '/ofrep/v1/evaluate/flags', body: true },
  { method: 'GET', path: '/api/client/features', body: false },
  { method: 'POST', path: '/api/client/register', body: true },
  { method: 'POST', path: '/api/client/metrics', body: true },
  { method: 'GET', path: '/v1/migrations', body: false },
  { method: 'POST', path: '/v1/migrations/analyze', body: true },
  { method: 'POST', path: '/v1/migrations/runs', body: true },
  { method: 'GET', path: '/v1/migrations/runs', body: false },
  { method: 'GET', path: '/v1/migrations/runs/:id', body: false },
  { method: 'GET', path: '/v1/migrations/runs/:id/events', body: false },
  { method: 'POST', path: '/v1/migrations/rehearsals', body: true },
  { method: 'GET', path: '/v1/migrations/rehearsals', body: false },
  { method: 'GET', path: '/v1/migrations/rehearsals/:id', body: false },
  { method: 'GET', path: '/v1/migrations/rehearsals/:id/events', body: false },
  { method: 'GET', path: '/v1/upstreams', body: false },
  { method: 'PATCH', path: '/v1/routing', body: true },
  { method: 'GET', path: '/ui', body: false },
  { method: 'GET', path: '/ui/', body: false },
  { method: 'POST', path: '/ui/session', body: true },
  { method: 'GET', path: '/ui/session', body: false },
  { method: 'DELETE', path: '/ui/session', body: false },
  { method: 'GET', path: '/ui/preview', body: false },
  { method: 'GET', path: '/ui/events', body: false }
]

t.test('the fuzzed route list is every admin route in the source', async (t) => {
  const declared: string[] = []
  // Every folder of src/ (each product registers its own admin routes) but proxy/, which serves the gateway port.
  for (const dir of readdirSync(join(ROOT, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'proxy').map((e) => e.name)) {
    for (const file of readdirSync(join(ROOT, 'src', dir)).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(ROOT, 'src', dir, file), 'utf8')
      for (const m of text.matchAll(/app\.(get|post|put|patch|delete)(?:<[^(]*>)?\('([^']+)'/g)) declared.push(`${(m[1] as string).toUpperCase()} ${m[2] as string}`)
    }
  }
  t.same([...declared].sort(), ROUTES.map((r) => `${r.method} ${r.path}`).sort())
})

/** encodeURIComponent, with lone surrogates (which it refuses) sent as U+FFFD. */
function escape (s: string): string {
  return encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'))
}

const PROTO = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', '__defineGetter__']
/** Field names of every admin body, at any depth, so random objects reach the checks behind the schemas. */
const FIELDS = [
  'enabled', 'message', 'retryAfter', 'startsAt', 'endsAt', 'allow', 'exceptPaths', 'paths', 'mode', 'redirect', 'secret',
  'key', 'description', 'rollout', 'percentage', 'groupId', 'variants', 'name', 'weight', 'value', 'rules', 'attribute',
  'in', 'notIn', 'startsWith', 'endsWith', 'contains', 'lt', 'lte', 'gt', 'gte', 'semverLt', 'semverGte', 'semverEq', 'cidr',
  'variant', 'gate', 'status', 'requires', 'createdAt', 'updatedAt', 'lastEvaluatedAt', 'context', 'targetingKey',
  'method', 'path', 'ip', 'headers', 'dryRun', 'step', 'maintenance', 'backup', 'allowDangerous', 'onFailure',
  'statementTimeoutMs', 'lockTimeoutMs', 'lockRetries', 'requireRehearsal', 'source', 'active', 'canary', 'upstream', 'paused', 'pauseMaxMs', 'force'
]
const HOSTILE_STRINGS = [
  '', ' ', '/x\r\nSet-Cookie: pwn=1', '/€', '/a\u0000b', '/\\evil.test', '/\t/evil.test', '//evil.test', '\\\\evil.test',
  'javascript:alert(1)', 'https://u:p@evil.test/', '2026-02-30T00:00:00Z', '9999-12-31T23:59:59Z', '+010000-01-01T00:00:00.000Z',
  '+275760-09-14T00:00:00.000Z', '10.0.0.0/33', '::/0', '0.0.0.0/0', '1.2.3', '999999999999999999999.0.0', 'full', 'read-only',
  'auto', 'always', 'restore', 'default', 'a'.repeat(5000), '%0d%0a', '../..', '\u202e', '\ud800', 'on', 'off', 'control', 'fuzz-flag', ...PROTO
]
const NUMBERS = [0, -0, -1, 1, 99, 100, 101, 599, 1e21, 1e308, -1e308, 2 ** 31, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 0.5, 31_536_001]

const text = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }))
const key = fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom(...PROTO), fc.string({ maxLength: 12 }))
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text,
    fc.constantFrom(...NUMBERS),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 })
  )
}))
/** Bodies as the bytes sent: JSON of random values, objects over the known fields, and texts JSON.stringify cannot make. */
const body = fc.oneof(
  value.map((v) => JSON.stringify(v) ?? 'null'),
  fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(...PROTO).map((p) => `{"${p}": {"enabled": true, "polluted": 1}, "enabled": true}`),
  fc.constantFrom('{"rules":[{"__proto__":{"in":["x"]},"attribute":"plan","in":["a"]}]}', '{"context":{"__proto__":{"targetingKey":"x"}}}'),
  fc.integer({ min: 1, max: 200_000 }).map((n) => `{"context":${'['.repeat(n)}${']'.repeat(n)}}`),
  fc.integer({ min: 1, max: 200_000 }).map((n) => `{"variants":[{"name":"a","weight":1,"value":${'['.repeat(n)}${']'.repeat(n)}}]}`),
  fc.constantFrom('{', '{"enabled": tru', '[]', '"x"', '1e999', '{"a":1}{"b":2}', '\u0000', '')
)
const param = fc.oneof(fc.constantFrom('fuzz-flag', 'fuzz-flag', 'u1', ...PROTO), text, fc.string({ maxLength: 300 }))
const query = fc.oneof(
  fc.constant(''),
  fc.dictionary(fc.oneof(fc.constantFrom('limit', 'stale', 'plan', ...PROTO), fc.string({ maxLength: 8 })), text, { maxKeys: 4 })
    .map((q) => '?' + Object.entries(q).map(([k, v]) => `${escape(k)}=${escape(v as string)}`).join('&'))
)
const contentType = fc.constantFrom('application/json', 'application/json', 'application/json', 'text/plain', 'application/json; charset=utf-16', 'application/x-www-form-urlencoded')

t.test('random and hostile input at every admin route: never a 5xx, and the gateway still answers', async (t) => {
  const upstream = await startUpstream(t)
  const db = await createDatabase(t, 'drawbridge_fuzz_')
  const migrations = await tempDir(t, 'drawbridge-fuzz-mig-')
  await writeMigrations(migrations, { '001_fuzz.sql': 'CREATE TABLE IF NOT EXISTS fuzz_t (id int);\n' })
  const backups = await tempDir(t, 'drawbridge-fuzz-bak-')
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--database-url', db.url,
    '--migrations-dir', migrations, '--backup-dir', backups, '--flags-identity', 'header:x-user'])
  const auth = { authorization: `Bearer ${TOKEN}` }
  await request(`http://${gw.admin}/v1/flags/fuzz-flag`, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ enabled: true, variants: [{ name: 'control', weight: 1 }, { name: 'treatment', weight: 1 }], rollout: { percentage: 50 } })
  }).then(async (r) => { await r.body.dump() })

  const fivexx: string[] = []
  await fc.assert(fc.asyncProperty(fc.constantFrom(...ROUTES), param, param, query, body, contentType, fc.boolean(),
    async (route, p1, p2, q, payload, type, encode) => {
      // Encoded, or raw where a request line allows it (so a stray `%` reaches the server as a malformed escape).
      const fill = (s: string): string => encode ? escape(s) : s.replace(/[^\u0021-\u007e]|[?#]/g, escape)
      const path = route.path.replace(':key', fill(p1)).replace(':userId', fill(p2)).replace(':id', fill(p1)) + q
      const res = await request(`http://${gw.admin}${path}`, {
        method: route.method,
        headers: route.body ? { ...auth, 'content-type': type } : auth,
        body: route.body ? payload : undefined,
        headersTimeout: 10_000,
        bodyTimeout: 10_000
      })
      // Event streams stay open: the status line is the answer.
      if (path.includes('/events')) res.body.on('error', () => {}).destroy()
      else await res.body.text()
      if (res.statusCode >= 500) fivexx.push(`${route.method} ${path} ${payload.slice(0, 200)} → ${res.statusCode}`)
      return res.statusCode < 500
    }), { numRuns: RUNS, endOnFailure: true })
  t.same(fivexx, [], 'no 5xx')

  t.equal(gw.proc.exitCode, null, 'the process is still running')
  const status = await request(`http://${gw.gateway}/__drawbridge/status`)
  t.equal(status.statusCode, 200, 'the gateway port answers')
  t.type(((await status.body.json()) as { maintenance: unknown }).maintenance, 'boolean')
  // A fuzzed PATCH /v1/routing may have paused traffic (a valid body): resume, or the request below waits its pauseMaxMs.
  await request(`http://${gw.admin}/v1/routing`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: '{"paused":false}' }).then(async (r) => { await r.body.dump() })
  const proxied = await request(`http://${gw.gateway}/after-fuzz`, { headers: { 'x-user': 'u1' } })
  t.ok(proxied.statusCode < 600, `a gateway request is answered (${proxied.statusCode})`)
  await proxied.body.dump()
  t.equal((await request(`http://${gw.admin}/healthz`)).statusCode, 200)
  t.notMatch(gw.logs(), /admin request crashed|uncaught|ERR_INVALID_CHAR/i, 'no crash in the log')
  // A graceful stop: a rehearsal a fuzzed POST started drops its scratch database.
  t.equal(await gw.stop(), 0)
})
