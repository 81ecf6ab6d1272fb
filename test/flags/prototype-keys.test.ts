import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ADMIN_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'

// Issue 17 case 4/6, issue 15 class 5: names of Object.prototype are plain data.
const admin = auth(ADMIN_TOKEN)
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__']

t.test('a flag called constructor does not exist until it is created, then is data', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const before = await app.inject({ method: 'GET', url: '/v1/flags/constructor', headers: admin })
  t.equal(before.statusCode, 404)
  t.match(before.json(), { code: 'DRAWBRIDGE_ERR_NOT_FOUND' })
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/flags/constructor', headers: admin, payload: { enabled: true } })).statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/flags/constructor', headers: admin })).statusCode, 404)
  t.equal((await app.inject({ method: 'PUT', url: '/v1/flags/constructor/overrides/u1', headers: admin, payload: { enabled: true } })).statusCode, 404)

  const put = await app.inject({ method: 'PUT', url: '/v1/flags/constructor', headers: admin, payload: { enabled: true } })
  t.equal(put.statusCode, 201, 'created, not "replaced"')
  t.match((await app.inject({ method: 'GET', url: '/v1/flags/constructor', headers: admin })).json(), { key: 'constructor', enabled: true })
  const list = await app.inject({ method: 'GET', url: '/v1/flags', headers: admin })
  t.same(list.json().flags.map((f: { key: string }) => f.key), ['constructor'])
  const ofrep = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/constructor', headers: admin, payload: { context: { targetingKey: 'u1' } } })
  t.match(ofrep.json(), { key: 'constructor', value: true })
  const missing = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/toString', headers: admin, payload: { context: {} } })
  t.equal(missing.statusCode, 404)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/flags/constructor', headers: admin })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: '/v1/flags/constructor', headers: admin })).statusCode, 404)
})

t.test('overrides for users named like Object.prototype members are stored, served and deleted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-proto-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--state-file', join(dir, 'state.json')])
  t.equal((await app.inject({ method: 'PUT', url: '/v1/flags/checkout', headers: admin, payload: { enabled: true, rollout: { percentage: 0 } } })).statusCode, 201)

  for (const userId of PROTO_NAMES) {
    const missing = await app.inject({ method: 'DELETE', url: `/v1/flags/checkout/overrides/${userId}`, headers: admin })
    t.equal(missing.statusCode, 404, `deleting the absent override of ${userId} is 404`)
  }
  t.same((await ctx.store.listAudit(100)).map((a) => a.action), ['flag.create'], 'and writes no audit entry')

  for (const userId of PROTO_NAMES) {
    const res = await app.inject({ method: 'PUT', url: `/v1/flags/checkout/overrides/${userId}`, headers: admin, payload: { enabled: true } })
    t.equal(res.statusCode, 200, userId)
    t.same(res.json(), { key: 'checkout', userId, enabled: true })
  }
  const listed = await app.inject({ method: 'GET', url: '/v1/flags/checkout/overrides', headers: admin })
  t.same(listed.json().overrides.map((o: { userId: string }) => o.userId).sort(), [...PROTO_NAMES].sort(), 'every override was stored')
  const state = ctx.holder.current
  t.ok(state !== null && Object.hasOwn(state.overrides.checkout ?? {}, '__proto__'), '__proto__ is an own key of the stored overrides')

  for (const userId of PROTO_NAMES) {
    const resolved = await app.inject({ method: 'GET', url: `/v1/users/${userId}/flags`, headers: admin })
    t.match(resolved.json().flags, [{ key: 'checkout', enabled: true, hasOverride: true }], `${userId} gets the override`)
    const ofrep = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/checkout', headers: admin, payload: { context: { targetingKey: userId } } })
    t.match(ofrep.json(), { value: true, reason: 'TARGETING_MATCH' }, `${userId} over OFREP`)
  }
  const stranger = await app.inject({ method: 'GET', url: '/v1/users/someone/flags', headers: admin })
  t.match(stranger.json().flags, [{ key: 'checkout', enabled: false, hasOverride: false }])

  const del = await app.inject({ method: 'DELETE', url: '/v1/flags/checkout/overrides/__proto__', headers: admin })
  t.equal(del.statusCode, 204)
  const after = await app.inject({ method: 'GET', url: '/v1/flags/checkout/overrides', headers: admin })
  t.notOk(after.json().overrides.some((o: { userId: string }) => o.userId === '__proto__'), 'the __proto__ override is gone, the others stay')
  t.equal(after.json().overrides.length, PROTO_NAMES.length - 1)
})

t.test('a rule on an attribute named constructor reads the context, not Object.prototype', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  await app.inject({ method: 'PUT', url: '/v1/flags/beta', headers: admin, payload: { enabled: true, rollout: { percentage: 0 }, rules: [{ attribute: 'constructor', notIn: ['x'], enabled: true }] } })
  const absent = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/beta', headers: admin, payload: { context: { targetingKey: 'u' } } })
  t.match(absent.json(), { value: true, reason: 'TARGETING_MATCH' }, 'absent attribute matches notIn, as documented')
  const given = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/beta', headers: admin, payload: { context: { targetingKey: 'u', constructor: 'x' } } })
  t.match(given.json(), { value: false, reason: 'SPLIT' }, 'the context value is the one compared')
})
