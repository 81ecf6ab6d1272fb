import t, { type Test } from 'tap'
import { run } from '../../src/cli/flags.js'
import { UsageError } from '../../src/cli/output.js'
import { ADMIN_TOKEN, buildTestAdmin } from '../admin/helpers.js'

/** Runs `drawbridge flags <args>` in this process against a listening admin app, capturing what it prints. */
async function setup (t: Test) {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`
  const cli = async (...args: string[]): Promise<{ code: number | 'usage', stdout: string, stderr: string }> => {
    let stdout = ''
    let stderr = ''
    const out = process.stdout.write.bind(process.stdout)
    const err = process.stderr.write.bind(process.stderr)
    process.stdout.write = ((chunk: string) => { stdout += chunk; return true }) as typeof process.stdout.write
    process.stderr.write = ((chunk: string) => { stderr += chunk; return true }) as typeof process.stderr.write
    try {
      return { code: await run([...args, '--admin-url', url, '--admin-token', ADMIN_TOKEN]), stdout, stderr }
    } catch (e) {
      if (e instanceof UsageError) return { code: 'usage', stdout, stderr: e.message }
      throw e
    } finally {
      process.stdout.write = out
      process.stderr.write = err
    }
  }
  return { ctx, cli }
}

t.test('drawbridge flags: every action against the admin API', async (t) => {
  const { ctx, cli } = await setup(t)

  const set = await cli('set', 'checkout', '--on', '--rollout', '25', '--variants', 'control:50,treatment:50', '--description', 'New checkout')
  t.equal(set.code, 0, set.stderr)
  t.match(set.stdout, /checkout: ON\n\s+description\s+New checkout\n\s+rollout\s+25%\n\s+variants\s+control:50, treatment:50/)
  t.match(ctx.holder.current?.flags.checkout, { enabled: true, rollout: { percentage: 25 }, variants: [{ name: 'control', weight: 50 }, { name: 'treatment', weight: 50 }] })

  const patch = await cli('set', 'checkout', '--rollout', '50')
  t.equal(patch.code, 0)
  t.match(ctx.holder.current?.flags.checkout, { rollout: { percentage: 50 }, description: 'New checkout', variants: [{ name: 'control' }, { name: 'treatment' }] }, 'set changes only what is given')

  const json = await cli('set', 'beta', '--json-body', '{"enabled":true,"rules":[{"attribute":"plan","in":["pro"]}]}', '--json')
  t.equal(json.code, 0, json.stderr)
  t.match(JSON.parse(json.stdout), { key: 'beta', enabled: true, rules: [{ attribute: 'plan', in: ['pro'] }] })

  const rules = await cli('set', 'checkout', '--json-body', '{"rules":[{"attribute":"plan","in":["pro"],"enabled":true}]}', '--json')
  t.equal(rules.code, 0, rules.stderr)
  t.match(ctx.holder.current?.flags.checkout, { rules: [{ attribute: 'plan' }], rollout: { percentage: 50 }, description: 'New checkout', variants: [{ name: 'control' }] },
    '--json-body changes only the fields it holds (the zero-downtime guide\'s step keeps the rollout)')
  const replaced = await cli('set', 'beta2', '--json-body', '{"enabled":true,"description":"x"}', '--json')
  t.equal(replaced.code, 0, 'a new flag is created')
  t.equal((await cli('set', 'beta2', '--json-body', '{"enabled":false}', '--replace')).code, 0)
  t.equal(ctx.holder.current?.flags.beta2?.description, null, '--replace replaces the whole flag')
  t.equal((await cli('set', 'beta2', '--replace', '--on')).code, 'usage')

  t.match((await cli('disable', 'beta')).stdout, /^beta: OFF\n$/)
  t.match((await cli('enable', 'beta')).stdout, /^beta: ON\n$/)

  const pin = await cli('override', 'checkout', 'alice', '--variant', 'treatment')
  t.equal(pin.stdout, 'checkout for alice: variant treatment (override)\n')
  const evalText = await cli('eval', 'checkout', '--user', 'alice')
  t.equal(evalText.stdout, 'checkout for alice: ON (reason TARGETING_MATCH, value "treatment", variant treatment, override)\n')
  const evalCtx = await cli('eval', 'beta', '--user', 'bob', '--context', 'plan=pro,region=eu', '--json')
  t.match(JSON.parse(evalCtx.stdout), { key: 'beta', enabled: true, reason: 'TARGETING_MATCH', hasOverride: false })
  t.equal((await cli('override', 'checkout', 'alice', '--clear')).stdout, 'Removed the override of checkout for alice\n')
  t.equal(ctx.holder.current?.overrides.checkout, undefined)

  const list = await cli('list')
  t.match(list.stdout, /^beta\s+on \n?/m)
  t.match(list.stdout, /^checkout\s+on\s+50%\s+control\/treatment$/m)
  t.match((await cli('list', '--stale')).stdout, /No stale flags/)
  const get = await cli('get', 'checkout')
  t.match(get.stdout, /last evaluated\s+never/)

  const missing = await cli('get', 'nope')
  t.equal(missing.code, 1)
  t.match(missing.stderr, /No flag nope \(HTTP 404, DRAWBRIDGE_ERR_NOT_FOUND\)/)
  const invalid = await cli('set', 'checkout', '--json-body', '{"rollout":{"percentage":101}}')
  t.equal(invalid.code, 1)
  t.match(invalid.stderr, /body\/rollout\/percentage must be <= 100 \(HTTP 400, DRAWBRIDGE_ERR_INVALID\)/)
  const requires = await cli('set', 'needs-db', '--on', '--requires', '002_orders')
  t.equal(requires.code, 1)
  t.match(requires.stderr, /no database is configured.*\(HTTP 409, DRAWBRIDGE_ERR_FLAG_REQUIRES_MIGRATION\)/)

  for (const args of [['set', 'x', '--rollout', '150'], ['set', 'x'], ['override', 'x', 'u'], ['override', 'x', 'u', '--on', '--off'], ['eval', 'x'], ['get'], ['frobnicate'], ['set', 'x', '--json-body', '{']]) {
    const res = await cli(...args)
    t.equal(res.code, 'usage', `${args.join(' ')}: ${res.stderr}`)
  }

  t.equal((await cli('delete', 'checkout')).stdout, 'Deleted flag checkout and its overrides\n')
  t.equal(ctx.holder.current?.flags.checkout, undefined)
})

t.test('drawbridge flags set --prerequisites', async (t) => {
  const { ctx, cli } = await setup(t)
  t.equal((await cli('set', 'new-api', '--on')).code, 0)
  t.equal((await cli('set', 'theme', '--on', '--variants', 'dark:1,light:1')).code, 0)
  t.equal((await cli('set', 'legacy', '--off')).code, 0)
  const set = await cli('set', 'checkout', '--on', '--prerequisites', 'new-api,theme=dark,legacy=off')
  t.equal(set.code, 0, set.stderr)
  t.match(set.stdout, /prerequisites\s+new-api, theme=dark, legacy=off/)
  t.same(ctx.holder.current?.flags.checkout?.prerequisites, [{ flag: 'new-api', enabled: true }, { flag: 'theme', variant: 'dark' }, { flag: 'legacy', enabled: false }])
  const refused = await cli('set', 'checkout', '--prerequisites', 'nope')
  t.equal(refused.code, 1)
  t.match(refused.stderr, /prerequisites\/0\/flag "nope" is not a flag/)
  t.equal((await cli('set', 'checkout', '--prerequisites', 'theme=')).code, 'usage')
  t.equal((await cli('set', 'checkout', '--prerequisites', '')).code, 0)
  t.equal(ctx.holder.current?.flags.checkout?.prerequisites, null, '"" removes them')
})

t.test('drawbridge flags set --schedule', async (t) => {
  const { ctx, cli } = await setup(t)
  const set = await cli('set', 'ramp', '--on', '--rollout', '0', '--schedule', '+0m=10,+1h=50,+1d=on')
  t.equal(set.code, 0, set.stderr)
  t.match(set.stdout, /schedule\s+\S+Z 10%; \S+Z 50%; \S+Z on/)
  const steps = ctx.holder.current?.flags.ramp?.schedule ?? []
  t.match(steps, [{ percentage: 10 }, { percentage: 50 }, { enabled: true }])
  t.ok(Date.parse(steps[1]?.at ?? '') - Date.parse(steps[0]?.at ?? '') === 3_600_000, '+1h is an hour after +0m')
  t.equal((await cli('set', 'ramp', '--schedule', '+1h=150')).code, 'usage')
  t.equal((await cli('set', 'ramp', '--schedule', 'soon=10')).code, 'usage')
  t.equal((await cli('set', 'ramp', '--schedule', '')).code, 0)
  t.match(ctx.holder.current?.flags.ramp, { schedule: null, rollout: { percentage: 10 } }, '"" stops the ramp where it is')
})

t.test('drawbridge flags set --stickiness, --variant-stickiness; get describes rules with conditions', async (t) => {
  const { ctx, cli } = await setup(t)
  const set = await cli('set', 'ramp', '--on', '--rollout', '30', '--group-id', 'spring', '--stickiness', 'sessionId', '--variants', 'a:1,b:1', '--variant-stickiness', 'default')
  t.equal(set.code, 0, set.stderr)
  t.match(ctx.holder.current?.flags.ramp, { rollout: { percentage: 30, groupId: 'spring', stickiness: 'sessionId' }, variantStickiness: 'default' })
  t.match(set.stdout, /rollout\s+30% \(group spring, sticky to sessionId\)\n\s+variants\s+a:1, b:1 \(sticky to default\)/)
  const body = {
    rules: [
      { attribute: 'plan', in: ['pro'], conditions: [{ attribute: 'country', in: ['no'], inverted: true }], rollout: { percentage: 50 }, variants: [{ name: 'b', weight: 1 }] },
      { attribute: 'email', regex: '@corp\\.example$', enabled: false }
    ]
  }
  const rules = await cli('set', 'ramp', '--json-body', JSON.stringify(body))
  t.equal(rules.code, 0, rules.stderr)
  t.match(rules.stdout, /rules\s+2: plan\+country, 50% → b:1; email → off/)
  t.equal((await cli('set', 'ramp', '--variant-stickiness', '')).code, 0)
  t.equal(ctx.holder.current?.flags.ramp?.variantStickiness, undefined, '"" clears it')
  t.equal((await cli('set', 'ramp', '--stickiness', 'default')).code, 'usage', '--stickiness needs --rollout')
  const bad = await cli('set', 'ramp', '--json-body', '{"rules":[{"attribute":"email","regex":"(x"}]}')
  t.equal(bad.code, 1)
  t.match(bad.stderr, /body\/rules\/0\/regex is not a pattern Drawbridge can run in linear time .*\(HTTP 400, DRAWBRIDGE_ERR_INVALID\)/)
})
