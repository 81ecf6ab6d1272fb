import t from 'tap'
import type { EventPayload } from '../../src/events.js'
import { ADMIN_TOKEN, READ_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'

const admin = auth(ADMIN_TOKEN)

t.test('create, read, replace, patch, delete; audited and published', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--read-token', READ_TOKEN])
  const events: EventPayload[] = []
  ctx.events.onEvent((e) => events.push(e))

  const created = await app.inject({
    method: 'PUT',
    url: '/v1/flags/new-checkout',
    headers: admin,
    payload: {
      description: 'New checkout',
      enabled: true,
      rollout: { percentage: 25, groupId: 'new-checkout' },
      variants: [{ name: 'control', weight: 50 }, { name: 'treatment', weight: 50, value: { color: 'green' } }],
      rules: [{ attribute: 'plan', in: ['pro'], enabled: true }],
      gate: { paths: ['/v2/'], status: 404 }
    }
  })
  t.equal(created.statusCode, 201, created.body)
  const flag = created.json()
  t.match(flag, { key: 'new-checkout', enabled: true, requires: null, lastEvaluatedAt: null, variants: [{ name: 'control' }, { name: 'treatment', value: { color: 'green' } }] })
  t.ok(Date.parse(flag.createdAt) > Date.now() - 5000)
  t.equal(flag.createdAt, flag.updatedAt)

  const read = await app.inject({ method: 'GET', url: '/v1/flags/new-checkout', headers: auth(READ_TOKEN) })
  t.equal(read.statusCode, 200)
  t.same(read.json(), flag)
  t.equal((await app.inject({ method: 'GET', url: '/v1/flags/nope', headers: admin })).statusCode, 404)
  t.match((await app.inject({ method: 'GET', url: '/v1/flags', headers: admin })).json(), { flags: [{ key: 'new-checkout' }] })

  // Echoing a GET back (read-only fields included) is a valid PUT; createdAt is kept.
  await new Promise((resolve) => setTimeout(resolve, 5))
  const replaced = await app.inject({ method: 'PUT', url: '/v1/flags/new-checkout', headers: admin, payload: { ...flag, enabled: false, rules: null } })
  t.equal(replaced.statusCode, 200, replaced.body)
  t.match(replaced.json(), { enabled: false, rules: null, createdAt: flag.createdAt })
  t.not(replaced.json().updatedAt, flag.updatedAt)

  const patched = await app.inject({ method: 'PATCH', url: '/v1/flags/new-checkout', headers: admin, payload: { enabled: true, gate: null, description: null } })
  t.equal(patched.statusCode, 200, patched.body)
  t.match(patched.json(), { enabled: true, gate: null, description: null, rollout: { percentage: 25 }, variants: [{ name: 'control' }, { name: 'treatment' }] })
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/flags/ghost', headers: admin, payload: { enabled: true } })).statusCode, 404)

  t.equal((await app.inject({ method: 'PUT', url: '/v1/flags/x', headers: auth(READ_TOKEN), payload: {} })).statusCode, 403, 'the read token cannot write')

  const ov = await app.inject({ method: 'PUT', url: '/v1/flags/new-checkout/overrides/alice', headers: admin, payload: { variant: 'treatment' } })
  t.equal(ov.statusCode, 200, ov.body)
  t.same(ov.json(), { key: 'new-checkout', userId: 'alice', variant: 'treatment' })
  t.same(ctx.holder.current?.overrides['new-checkout'], { alice: { variant: 'treatment' } })
  t.same((await app.inject({ method: 'GET', url: '/v1/flags/new-checkout/overrides', headers: admin })).json(), { key: 'new-checkout', overrides: [{ key: 'new-checkout', userId: 'alice', variant: 'treatment' }] })

  const del = await app.inject({ method: 'DELETE', url: '/v1/flags/new-checkout', headers: admin })
  t.equal(del.statusCode, 204)
  t.equal(ctx.holder.current?.flags['new-checkout'], undefined)
  t.equal(ctx.holder.current?.overrides['new-checkout'], undefined, 'overrides go with the flag')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/flags/new-checkout', headers: admin })).statusCode, 404)

  t.same(events.map((e) => [e.event, e.data.action, e.actor]), [
    ['flag.changed', 'flag.create', 'admin'],
    ['flag.changed', 'flag.replace', 'admin'],
    ['flag.changed', 'flag.update', 'admin'],
    ['flag.changed', 'flag.override.set', 'admin'],
    ['flag.changed', 'flag.delete', 'admin']
  ])
  const audit = await ctx.store.listAudit(10)
  t.same(audit.map((a) => a.action), ['flag.delete', 'flag.override.set', 'flag.update', 'flag.replace', 'flag.create'])
  const update = audit.find((a) => a.action === 'flag.update')
  t.match(update, { actor: 'admin', target: 'new-checkout', before: { enabled: false, gate: { status: 404 } }, after: { enabled: true, gate: null } })
  t.match(audit.find((a) => a.action === 'flag.create'), { before: null, after: { key: 'new-checkout' } })
})

t.test('overrides: boolean or variant, validated; delete', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  await app.inject({ method: 'PUT', url: '/v1/flags/beta', headers: admin, payload: { enabled: true, variants: [{ name: 'a', weight: 1 }] } })
  const bad: Array<[unknown, RegExp]> = [
    [{}, /exactly one of 'enabled' or 'variant'/],
    [{ enabled: true, variant: 'a' }, /exactly one of 'enabled' or 'variant'/],
    [{ variant: 'zzz' }, /^body\/variant "zzz" is not one of the variants of flag beta$/],
    [{ enabled: 'yes' }, /^body\/enabled must be boolean$/],
    [{ on: true }, /^body must NOT have additional properties: 'on'$/]
  ]
  for (const [payload, message] of bad) {
    const res = await app.inject({ method: 'PUT', url: '/v1/flags/beta/overrides/bob', headers: admin, payload: payload as object })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.match(res.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message }, JSON.stringify(payload))
  }
  t.equal((await app.inject({ method: 'PUT', url: '/v1/flags/ghost/overrides/bob', headers: admin, payload: { enabled: true } })).statusCode, 404)
  t.equal((await app.inject({ method: 'PUT', url: '/v1/flags/beta/overrides/bob', headers: admin, payload: { enabled: false } })).statusCode, 200)
  const user = await app.inject({ method: 'GET', url: '/v1/users/bob/flags', headers: admin })
  t.same(user.json(), { userId: 'bob', flags: [{ key: 'beta', enabled: false, value: false, variant: 'off', reason: 'TARGETING_MATCH', hasOverride: true }] })
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/flags/beta/overrides/bob', headers: admin })).statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/flags/beta/overrides/bob', headers: admin })).statusCode, 404)
  t.same(ctx.holder.current?.overrides, {})
  const after = await app.inject({ method: 'GET', url: '/v1/users/bob/flags', headers: admin })
  t.same(after.json().flags, [{ key: 'beta', enabled: true, value: 'a', variant: 'a', reason: 'STATIC', hasOverride: false }])
})

t.test('GET /v1/users/:userId/flags resolves every flag with the query as context', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const put = async (key: string, payload: object): Promise<void> => {
    const res = await app.inject({ method: 'PUT', url: `/v1/flags/${key}`, headers: admin, payload })
    t.equal(res.statusCode, 201, res.body)
  }
  await put('off', { enabled: false })
  await put('pro-only', { enabled: true, rollout: { percentage: 0 }, rules: [{ attribute: 'plan', in: ['pro'] }] })
  await put('new-app', { enabled: true, rollout: { percentage: 0 }, rules: [{ attribute: 'version', semverGte: '2.0.0' }] })
  await put('static', { enabled: true })
  const res = await app.inject({ method: 'GET', url: '/v1/users/u1/flags?plan=pro&version=2.1.0', headers: admin })
  t.equal(res.statusCode, 200, res.body)
  t.same(res.json().flags.map((f: { key: string, enabled: boolean, reason: string }) => [f.key, f.enabled, f.reason]), [
    ['new-app', true, 'TARGETING_MATCH'],
    ['off', false, 'DISABLED'],
    ['pro-only', true, 'TARGETING_MATCH'],
    ['static', true, 'STATIC']
  ])
  const free = await app.inject({ method: 'GET', url: '/v1/users/u1/flags?plan=free&version=1.9.0', headers: admin })
  t.same(free.json().flags.map((f: { enabled: boolean }) => f.enabled), [false, false, false, true])
})

t.test('bad bodies are 400 naming the field and change nothing', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  await app.inject({ method: 'PUT', url: '/v1/flags/keep', headers: admin, payload: { enabled: true } })
  const version = ctx.holder.current?.version
  const cases: Array<[string, unknown, RegExp]> = [
    ['keep', { enabled: 'yes' }, /^body\/enabled must be boolean$/],
    ['keep', { colour: 'red' }, /^body must NOT have additional properties: 'colour'$/],
    ['keep', { rollout: { percentage: 101 } }, /^body\/rollout\/percentage must be <= 100$/],
    ['keep', { rollout: { percentage: -1 } }, /^body\/rollout\/percentage must be >= 0$/],
    ['keep', { rollout: { percent: 5 } }, /^body\/rollout must/],
    ['keep', { variants: [{ name: 'a', weight: -1 }] }, /^body\/variants\/0\/weight must be >= 0$/],
    ['keep', { variants: [{ name: 'a', weight: 1.5 }] }, /^body\/variants\/0\/weight must be integer$/],
    ['keep', { variants: [{ name: 'a', weight: 0 }, { name: 'b', weight: 0 }] }, /^body\/variants weights must add up to more than 0$/],
    ['keep', { variants: [{ name: 'a', weight: 1 }, { name: 'a', weight: 1 }] }, /^body\/variants\/1\/name "a" is used twice$/],
    ['keep', { variants: [{ name: 'a,b', weight: 1 }] }, /^body\/variants\/0\/name must match pattern/],
    ['keep', { rules: [{ attribute: 'plan' }] }, /^body\/rules\/0 needs an operator/],
    ['keep', { rules: [{ attribute: 'plan', equals: 'x' }] }, /^body\/rules\/0 must NOT have additional properties: 'equals'$/],
    ['keep', { rules: [{ attribute: 'v', semverGt: '1.2' }] }, /^body\/rules\/0\/semverGt "1.2" is not a semantic version/],
    ['keep', { rules: [{ attribute: 'ip', cidr: ['10.0.0.0/33'] }] }, /^body\/rules\/0\/cidr\/0 invalid CIDR/],
    ['keep', { rules: [{ attribute: 'plan', in: ['pro'], variant: 'gold' }] }, /^body\/rules\/0\/variant "gold" is not one of the flag's variants$/],
    ['keep', { rules: [{ attribute: 'plan', lt: 'ten' }] }, /^body\/rules\/0\/lt must be number$/],
    ['keep', { gate: { paths: ['v2'], status: 404 } }, /^body\/gate\/paths\/0 must match pattern/],
    ['keep', { gate: { paths: ['/v2'], status: 200 } }, /^body\/gate\/status must be >= 400$/],
    ['keep', { key: 'other' }, /^body\/key "other" does not match the key in the URL "keep"$/],
    ['keep', [1], /^body must be object$/],
    ['Bad_Key', { enabled: true }, /^params\/key must match pattern/],
    ['-dash', { enabled: true }, /^params\/key must match pattern/],
    ['a'.repeat(129), { enabled: true }, /^params\/key must match pattern/]
  ]
  for (const [key, payload, message] of cases) {
    for (const method of ['PUT', 'PATCH'] as const) {
      const res = await app.inject({ method, url: `/v1/flags/${key}`, headers: admin, payload: payload as object })
      t.equal(res.statusCode, 400, `${method} ${JSON.stringify(payload)}`)
      t.match(res.json(), { statusCode: 400, code: 'DRAWBRIDGE_ERR_INVALID', message }, `${method} ${JSON.stringify(payload)}: ${res.json().message}`)
    }
  }
  const badJson = await app.inject({ method: 'PUT', url: '/v1/flags/keep', headers: { ...admin, 'content-type': 'application/json' }, payload: '{"enabled": tru' })
  t.match(badJson.json(), { statusCode: 400, code: 'DRAWBRIDGE_ERR_INVALID' })
  t.equal(ctx.holder.current?.version, version, 'nothing was written')
  t.equal((await app.inject({ method: 'PUT', url: `/v1/flags/${'a'.repeat(128)}`, headers: admin, payload: {} })).statusCode, 201, '128 characters is fine')
  t.equal((await app.inject({ method: 'PUT', url: '/v1/flags/a.b_c-9', headers: admin, payload: {} })).statusCode, 201)
})

t.test('requires: enabling a flag whose migration is not applied is a 409', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const noDb = await app.inject({ method: 'PUT', url: '/v1/flags/orders', headers: admin, payload: { enabled: true, requires: '002_orders_customer' } })
  t.equal(noDb.statusCode, 409)
  t.match(noDb.json(), { code: 'DRAWBRIDGE_ERR_FLAG_REQUIRES_MIGRATION', message: /002_orders_customer.*no database is configured/ })

  const applied = new Set<string>()
  ctx.appliedMigrations = { isApplied: async (name) => applied.has(name) }
  const off = await app.inject({ method: 'PUT', url: '/v1/flags/orders', headers: admin, payload: { enabled: false, requires: '002_orders_customer' } })
  t.equal(off.statusCode, 201, 'a disabled flag may require anything')
  const on = await app.inject({ method: 'PATCH', url: '/v1/flags/orders', headers: admin, payload: { enabled: true } })
  t.equal(on.statusCode, 409)
  t.same(on.json(), { statusCode: 409, error: 'Conflict', code: 'DRAWBRIDGE_ERR_FLAG_REQUIRES_MIGRATION', message: 'Flag orders requires migration 002_orders_customer, which is not applied' })
  t.equal(ctx.holder.current?.flags.orders?.enabled, false)

  const { setFlagEnabled } = await import('../../src/flags/flag-service.js')
  await t.rejects(setFlagEnabled(ctx, 'migrations', 'orders', true), { code: 'DRAWBRIDGE_ERR_FLAG_REQUIRES_MIGRATION', statusCode: 409 })
  await t.rejects(setFlagEnabled(ctx, 'migrations', 'ghost', true), { code: 'DRAWBRIDGE_ERR_NOT_FOUND' })

  applied.add('002_orders_customer')
  const flag = await setFlagEnabled(ctx, 'migrations', 'orders', true)
  t.equal(flag.enabled, true)
  t.equal(ctx.holder.current?.flags.orders?.enabled, true)

  // An enabled flag's other fields can change while the database is away.
  ctx.appliedMigrations = { isApplied: async () => { throw new Error('connection refused') } }
  const edit = await app.inject({ method: 'PATCH', url: '/v1/flags/orders', headers: admin, payload: { description: 'orders by customer' } })
  t.equal(edit.statusCode, 200, edit.body)
  const other = await app.inject({ method: 'PATCH', url: '/v1/flags/orders', headers: admin, payload: { requires: '003_more' } })
  t.equal(other.statusCode, 503, 'a changed requirement of an enabled flag is checked')
  t.match(other.json(), { code: 'DRAWBRIDGE_ERR_DATABASE' })
  t.equal((await ctx.store.listAudit(1))[0]?.action, 'flag.update')
})
