import t from 'tap'
import { ADMIN_TOKEN, READ_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'

/*
 * The targeting forms through the admin API: written and read back as they
 * are, evaluated the same by OFREP and /v1/users/:id/flags, refused with a 400
 * naming the field when they cannot run.
 */

const admin = auth(ADMIN_TOKEN)

const LAUNCH = {
  enabled: true,
  rollout: { percentage: 0 },
  variants: [
    { name: 'blue', weight: 1, value: 'Blue' },
    { name: 'green', weight: 1, value: 'Green' },
    { name: 'staff', weight: 0, value: 'Staff', overrides: [{ attribute: 'email', in: ['ceo@acme.example'] }] }
  ],
  variantStickiness: 'default',
  rules: [
    { attribute: 'country', in: ['no'], inverted: true, conditions: [{ attribute: 'email', regex: '@ACME\\.example$', caseInsensitive: true }], variant: 'staff' },
    { conditions: [{ attribute: 'plan', in: ['pro'] }, { attribute: 'currentTime', dateAfter: '2020-01-01T00:00:00Z' }, { attribute: 'seats', gte: 5 }], rollout: { percentage: 100, groupId: 'pro-launch', stickiness: 'sessionId' }, variants: [{ name: 'green', weight: 1 }] },
    { attribute: 'plan', in: ['free'], enabled: false },
    { rollout: { percentage: 100, stickiness: 'default' } }
  ]
}

t.test('the new forms are written, read back, and evaluated alike by OFREP and /v1/users', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--read-token', READ_TOKEN])
  const put = await app.inject({ method: 'PUT', url: '/v1/flags/launch', headers: admin, payload: LAUNCH })
  t.equal(put.statusCode, 201, put.body)
  t.match(put.json(), LAUNCH)
  t.same((await app.inject({ method: 'GET', url: '/v1/flags/launch', headers: admin })).json(), put.json())

  const cases: Array<[Record<string, string>, string | undefined]> = [
    [{ targetingKey: 'u1', country: 'se', email: 'bob@acme.EXAMPLE' }, 'staff'],
    [{ targetingKey: 'u1', country: 'no', email: 'bob@acme.example' }, undefined],
    [{ targetingKey: 'u1', plan: 'pro', seats: '7', sessionId: 's1' }, 'green'],
    [{ targetingKey: 'u1', plan: 'pro', seats: '7' }, undefined],
    [{ targetingKey: 'u1', plan: 'pro', seats: '2', sessionId: 's1' }, undefined],
    [{ targetingKey: 'u1', plan: 'free' }, 'off'],
    [{ targetingKey: 'ceo', email: 'ceo@acme.example', country: 'no' }, 'staff']
  ]
  for (const [context, want] of cases) {
    const ofrep = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/launch', headers: auth(READ_TOKEN), payload: { context } })
    const { targetingKey, ...query } = context
    const user = await app.inject({ method: 'GET', url: `/v1/users/${targetingKey as string}/flags?${new URLSearchParams(query).toString()}`, headers: admin })
    const resolved = user.json().flags[0] as { variant: string, enabled: boolean }
    const body = ofrep.json() as { variant?: string, value?: unknown }
    if (want === 'off') {
      t.same([body.variant, resolved.enabled], [undefined, false], JSON.stringify(context))
    } else if (want === undefined) {
      // Not a fixed variant: the last rule chose blue or green by the default stickiness; both answers agree.
      t.ok(body.variant === 'blue' || body.variant === 'green', `${JSON.stringify(context)}: ${String(body.variant)}`)
      t.equal(resolved.variant, body.variant)
    } else {
      t.equal(body.variant, want, JSON.stringify(context))
      t.equal(resolved.variant, want)
    }
  }

  const cleared = await app.inject({ method: 'PATCH', url: '/v1/flags/launch', headers: admin, payload: { variantStickiness: null } })
  t.equal(cleared.statusCode, 200, cleared.body)
  t.equal(cleared.json().variantStickiness, undefined, 'null clears it')
  const onlyRules = await app.inject({ method: 'PUT', url: '/v1/flags/rule-weights', headers: admin, payload: { enabled: true, variants: [{ name: 'a', weight: 0 }, { name: 'b', weight: 0 }], rules: [{ attribute: 'plan', in: ['pro'], variants: [{ name: 'a', weight: 1 }, { name: 'b', weight: 3 }] }] } })
  t.equal(onlyRules.statusCode, 201, 'variants only rules choose may weigh 0 for everyone else')
})

t.test('bad targeting is a 400 naming the field and changes nothing', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  await app.inject({ method: 'PUT', url: '/v1/flags/keep', headers: admin, payload: { enabled: true, variants: [{ name: 'a', weight: 1 }] } })
  const version = ctx.holder.current?.version
  const rule = (r: Record<string, unknown>) => ({ variants: [{ name: 'a', weight: 1 }], rules: [r] })
  const cases: Array<[unknown, RegExp]> = [
    [rule({ attribute: 'email', regex: '(unclosed' }), /^body\/rules\/0\/regex is not a pattern Drawbridge can run in linear time \(RE2 syntax\): .*missing closing \)/],
    [rule({ conditions: [{ attribute: 'a', regex: '^(a)\\1$' }] }), /^body\/rules\/0\/conditions\/0\/regex is not a pattern .*invalid escape sequence/],
    [rule({ attribute: 'a', regex: '(?=x)' }), /^body\/rules\/0\/regex is not a pattern .*unsupported Perl syntax/],
    [rule({ attribute: 'a', regex: 'x'.repeat(513) }), /^body\/rules\/0\/regex must NOT have more than 512 characters$/],
    [rule({ attribute: 'a', regex: '[a-z]{1000}'.repeat(6) }), /^body\/rules\/0\/regex is not a pattern .*more than 5000/],
    [rule({ attribute: 'plan', dateAfter: '2026-01-01T00:00:00Z' }), /^body\/rules\/0\/dateAfter compares the evaluation instant, so its attribute must be "currentTime" \(got "plan"\)$/],
    [rule({ attribute: 'currentTime', dateBefore: 'tomorrow' }), /^body\/rules\/0\/dateBefore must be an ISO 8601 date-time with a timezone/],
    [rule({ attribute: 'currentTime', dateBefore: '2026-01-01T00:00:00' }), /^body\/rules\/0\/dateBefore must be an ISO 8601/],
    [rule({ conditions: [{ attribute: 'n', gt: 1, lt: 5, inverted: true }] }), /^body\/rules\/0\/conditions\/0\/inverted negates a single operator, and this condition has 2 \(lt, gt\)/],
    [rule({ inverted: true, rollout: { percentage: 5 } }), /^body\/rules\/0\/inverted applies to the rule's own attribute, and it has none/],
    [rule({ in: ['x'] }), /^body\/rules\/0\/attribute is required beside an operator$/],
    [rule({}), /^body\/rules\/0 needs an operator \(one of in, .*\), conditions or a rollout$/],
    [rule({ conditions: [] }), /^body\/rules\/0 needs an operator/],
    [rule({ conditions: [{ attribute: 'plan' }] }), /^body\/rules\/0\/conditions\/0 needs an operator/],
    [rule({ conditions: [{ in: ['x'] }] }), /^body\/rules\/0\/conditions\/0 must have required property 'attribute'$/],
    [rule({ conditions: [{ attribute: 'a', in: ['x'], variant: 'a' }] }), /^body\/rules\/0\/conditions\/0 must NOT have additional properties: 'variant'$/],
    [rule({ conditions: Array.from({ length: 51 }, () => ({ attribute: 'a', in: ['x'] })) }), /^body\/rules\/0\/conditions must NOT have more than 50 items$/],
    [rule({ attribute: 'a', in: ['x'], variants: [{ name: 'zz', weight: 1 }] }), /^body\/rules\/0\/variants\/0\/name "zz" is not one of the flag's variants$/],
    [rule({ attribute: 'a', in: ['x'], variants: [{ name: 'a', weight: 0 }] }), /^body\/rules\/0\/variants weights must add up to more than 0$/],
    [rule({ attribute: 'a', in: ['x'], variants: [{ name: 'a', weight: 1 }], variant: 'a' }), /^body\/rules\/0\/variants cannot be used with variant/],
    [rule({ attribute: 'a', in: ['x'], variants: [{ name: 'a', weight: 1 }], enabled: false }), /^body\/rules\/0\/variants cannot be served by a rule with enabled: false$/],
    [rule({ rollout: { percentage: 5, stickiness: '' } }), /^body\/rules\/0\/rollout\/stickiness must NOT have fewer than 1 characters$/],
    [rule({ rollout: { percentage: 5, bucket: 'x' } }), /^body\/rules\/0\/rollout must NOT have additional properties: 'bucket'$/],
    [{ variantStickiness: 'x'.repeat(129) }, /^body\/variantStickiness must NOT have more than 128 characters$/],
    [{ rollout: { percentage: 5, stickiness: 7 } }, /^body\/rollout\/stickiness must be string$/],
    [{ variants: [{ name: 'a', weight: 1, overrides: [{ attribute: 'plan' }] }] }, /^body\/variants\/0\/overrides\/0 must have required property 'in'$/],
    [{ variants: [{ name: 'a', weight: 1, overrides: Array.from({ length: 21 }, () => ({ attribute: 'p', in: ['x'] })) }] }, /^body\/variants\/0\/overrides must NOT have more than 20 items$/]
  ]
  for (const [payload, message] of cases) {
    for (const method of ['PUT', 'PATCH'] as const) {
      const res = await app.inject({ method, url: '/v1/flags/keep', headers: admin, payload: payload as object })
      t.equal(res.statusCode, 400, `${method} ${JSON.stringify(payload).slice(0, 120)}`)
      t.match(res.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message }, `${method}: ${String(res.json().message)}`)
    }
  }
  t.equal(ctx.holder.current?.version, version, 'nothing was written')
})

t.test('attributes named like Object.prototype members are data', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const put = await app.inject({
    method: 'PUT',
    url: '/v1/flags/proto',
    headers: admin,
    payload: {
      enabled: true,
      rollout: { percentage: 100, stickiness: 'constructor' },
      variants: [{ name: 'a', weight: 1 }, { name: 'b', weight: 0, overrides: [{ attribute: 'hasOwnProperty', in: ['yes'] }] }],
      rules: [{ conditions: [{ attribute: 'toString', in: ['x'] }, { attribute: 'valueOf', regex: '.' }], enabled: false }]
    }
  })
  t.equal(put.statusCode, 201, put.body)
  const evaluate = async (context: Record<string, string>) => (await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/proto', headers: admin, payload: { context: { targetingKey: 'u', ...context } } })).json() as { variant?: string, reason: string }
  t.match(await evaluate({}), { reason: 'DEFAULT' }, 'no own constructor: no bucket, although every object inherits one')
  t.match(await evaluate({ constructor: 'c1' }), { variant: 'a', reason: 'SPLIT' })
  t.match(await evaluate({ constructor: 'c1', hasOwnProperty: 'yes' }), { variant: 'b' })
  t.match(await evaluate({ constructor: 'c1', toString: 'x', valueOf: 'v' }), { reason: 'TARGETING_MATCH' })
})
