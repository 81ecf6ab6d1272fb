import t from 'tap'
import type { EventPayload } from '../../src/events.js'
import { ADMIN_TOKEN, READ_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'

const admin = auth(ADMIN_TOKEN)

t.test('bad bodies are 400 naming the field, and change nothing', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const first = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { message: 'before', allow: ['10.0.0.0/8'] } })
  t.equal(first.statusCode, 200)
  const version = ctx.holder.current?.version

  const cases: Array<[unknown, RegExp]> = [
    [{ retryAfter: '300' }, /^body\/retryAfter must be integer$/],
    [{ retryAfter: -1 }, /^body\/retryAfter must be >= 0$/],
    [{ foo: 1 }, /^body must NOT have additional properties: 'foo'$/],
    [{ enabled: 'yes' }, /^body\/enabled must be boolean$/],
    [{ mode: 'partial' }, /^body\/mode must be equal to one of the allowed values: \["full","read-only"\]$/],
    [{ allow: ['10.0.0.0/8', '10.0.0.0/33'] }, /allow\/1 .*10\.0\.0\.0\/33/],
    [{ allow: ['2001:db8::/129'] }, /allow\/0 .*2001:db8::\/129/],
    [{ endsAt: 'tomorrow' }, /endsAt must be a real calendar date-time in ISO 8601/],
    [{ startsAt: '2030-01-02T00:00:00Z', endsAt: '2030-01-01T00:00:00Z' }, /endsAt .* must be after startsAt/],
    [{ exceptPaths: ['healthz'] }, /exceptPaths\/0 must be a path starting with '\/'/],
    [{ paths: [] }, /paths must list at least one path prefix/],
    [{ redirect: 'javascript:alert(1)' }, /redirect must be a path starting with "\/" or an absolute http\(s\) URL/],
    [{ secret: 'short' }, /secret must be true/],
    [{ secret: 'has/slash-0123456789' }, /secret must be true/],
    [{ secret: false }, /^body\/secret must be string$/],
    [[1, 2], /^body must be object$/]
  ]
  for (const [payload, message] of cases) {
    const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: payload as object })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.match(res.json(), { statusCode: 400, error: 'Bad Request', code: 'DRAWBRIDGE_ERR_INVALID', message }, JSON.stringify(payload))
  }
  const badJson = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: { ...admin, 'content-type': 'application/json' }, payload: '{"enabled": tru' })
  t.match(badJson.json(), { statusCode: 400, code: 'DRAWBRIDGE_ERR_INVALID' })

  t.equal(ctx.holder.current?.version, version, 'no write reached the store')
  const after = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: admin })
  t.match(after.json(), { enabled: false, message: 'before', allow: ['10.0.0.0/8'], retryAfter: null, mode: 'full' })
})

t.test('PATCH merges, null clears, secret true generates a bypass URL', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--read-token', READ_TOKEN])
  const events: EventPayload[] = []
  ctx.events.onEvent((e) => events.push(e))

  const on = await app.inject({
    method: 'PATCH',
    url: '/v1/maintenance',
    headers: admin,
    payload: { enabled: true, message: 'Upgrading', retryAfter: 300, endsAt: '2099-11-22T03:00:00+01:00', allow: ['10.0.0.0/8', '2001:db8::/32'], exceptPaths: ['/healthz'], mode: 'read-only', secret: true }
  })
  t.equal(on.statusCode, 200)
  const body = on.json()
  t.match(body, { enabled: true, message: 'Upgrading', retryAfter: 300, endsAt: '2099-11-22T02:00:00.000Z', startsAt: null, paths: null, mode: 'read-only', redirect: null, updatedBy: 'admin' })
  t.match(body.secret, /^[A-Za-z0-9_-]{22,}$/, 'at least 128 bits, base64url')
  t.equal(body.bypassUrl, `http://127.0.0.1:8080/${String(body.secret)}`)
  t.ok(Date.parse(body.updatedAt) > Date.now() - 5000)
  t.match(events, [{ event: 'maintenance.enabled', actor: 'admin', data: { maintenance: { enabled: true, secret: '[redacted]' } } }])

  const asReader = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: auth(READ_TOKEN) })
  t.match(asReader.json(), { enabled: true, secret: '[redacted]', bypassUrl: '[redacted]' }, 'a read token does not learn the bypass secret')

  const merged = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { message: 'Almost done' } })
  t.match(merged.json(), { enabled: true, message: 'Almost done', retryAfter: 300, secret: body.secret, allow: ['10.0.0.0/8', '2001:db8::/32'] }, 'fields left out keep their value')

  const rotated = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { secret: true } })
  t.not(rotated.json().secret, body.secret, 'secret: true rotates')

  const cleared = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { message: null, retryAfter: null, endsAt: null, secret: null, redirect: null, paths: null } })
  t.match(cleared.json(), { enabled: true, message: null, retryAfter: null, endsAt: null, secret: null, bypassUrl: null })

  const given = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { secret: 'my-own-secret-value-1', paths: ['/api'], redirect: 'https://status.example.com/' } })
  t.match(given.json(), { secret: 'my-own-secret-value-1', bypassUrl: 'http://127.0.0.1:8080/my-own-secret-value-1', paths: ['/api'], redirect: 'https://status.example.com/' })

  const off = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { enabled: false } })
  t.equal(off.json().enabled, false)
  t.equal(events.at(-1)?.event, 'maintenance.disabled')

  const audit = await app.inject({ method: 'GET', url: '/v1/audit?limit=2', headers: admin })
  const entries = audit.json().entries as Array<{ before: { secret: unknown }, after: { secret: unknown } }>
  t.equal(entries.length, 2, 'limit is coerced from the query string')
  t.notMatch(audit.body, /my-own-secret-value-1/, 'no secret in the audit log')
  t.equal(entries[1]?.after.secret, '[redacted]')
  const badLimit = await app.inject({ method: 'GET', url: '/v1/audit?limit=abc', headers: admin })
  t.match(badLimit.json(), { statusCode: 400, message: 'querystring/limit must be integer' })
})

t.test('publicUrl is the base of the bypass URL; a future startsAt is a scheduled event', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--public-url', 'https://shop.example.com/'])
  const events: EventPayload[] = []
  ctx.events.onEvent((e) => events.push(e))
  const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { enabled: true, secret: 'abcdefghijklmnop', startsAt: '2099-01-01T00:00:00Z', endsAt: '2099-01-01T01:00:00Z' } })
  t.equal(res.json().bypassUrl, 'https://shop.example.com/abcdefghijklmnop')
  t.equal(events[0]?.event, 'maintenance.scheduled')
})
