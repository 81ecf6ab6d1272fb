import t from 'tap'
import { ADMIN_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'

const admin = auth(ADMIN_TOKEN)

t.test('prototype names are plain data: flag keys and user ids like constructor or __proto__', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  t.equal((await app.inject({ method: 'PUT', url: '/v1/flags/real', headers: admin, payload: { enabled: true } })).statusCode, 201)
  const version = ctx.holder.current?.version
  const audit = async (): Promise<number> => (await app.inject({ method: 'GET', url: '/v1/audit', headers: admin })).json<{ entries: unknown[] }>().entries.length
  const before = await audit()

  for (const [method, url] of [
    ['GET', '/v1/flags/constructor'],
    ['PATCH', '/v1/flags/constructor'],
    ['DELETE', '/v1/flags/constructor'],
    ['GET', '/v1/flags/constructor/overrides'],
    ['DELETE', '/v1/flags/constructor/overrides/prototype'],
    ['DELETE', '/v1/flags/real/overrides/toString'],
    ['DELETE', '/v1/flags/real/overrides/constructor'],
    ['DELETE', '/v1/flags/real/overrides/__proto__'],
    ['DELETE', '/v1/flags/real/overrides/valueOf']
  ] as const) {
    const res = await app.inject({ method, url, headers: admin, ...(method === 'PATCH' ? { payload: { enabled: false } } : {}) })
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.equal(res.json().code, 'DRAWBRIDGE_ERR_NOT_FOUND')
  }
  t.equal(ctx.holder.current?.version, version, 'nothing written')
  t.equal(await audit(), before, 'nothing audited')

  // As data they work like any other name.
  t.equal((await app.inject({ method: 'PUT', url: '/v1/flags/constructor', headers: admin, payload: { enabled: true } })).statusCode, 201)
  t.equal((await app.inject({ method: 'GET', url: '/v1/flags/constructor', headers: admin })).json().key, 'constructor')
  for (const user of ['__proto__', 'constructor', 'toString']) {
    const set = await app.inject({ method: 'PUT', url: `/v1/flags/real/overrides/${user}`, headers: admin, payload: { enabled: false } })
    t.equal(set.statusCode, 200, user)
  }
  const listed = await app.inject({ method: 'GET', url: '/v1/flags/real/overrides', headers: admin })
  t.same(listed.json<{ overrides: Array<{ userId: string }> }>().overrides.map((o) => o.userId).sort(), ['__proto__', 'constructor', 'toString'])
  const resolved = await app.inject({ method: 'GET', url: '/v1/users/__proto__/flags', headers: admin })
  t.match(resolved.json<{ flags: unknown[] }>().flags, [{ key: 'constructor', enabled: true, hasOverride: false }, { key: 'real', enabled: false, hasOverride: true }])
  // Overrides are kept in prototype-free objects: "__proto__" is an own key, never the prototype.
  const real = ctx.holder.current?.overrides.real
  t.equal(real === undefined ? 'missing' : Object.getPrototypeOf(real), null, 'the prototype was not replaced')
  t.ok(real !== undefined && Object.hasOwn(real, '__proto__'), '"__proto__" is stored as a user id')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/flags/real/overrides/__proto__', headers: admin })).statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/flags/constructor', headers: admin })).statusCode, 204)
})
