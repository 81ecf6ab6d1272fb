import { once } from 'node:events'
import t from 'tap'
import { request } from 'undici'
import { Unleash, UnleashEvents } from 'unleash-client'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

/*
 * The official Unleash SDK (`unleash-client`) against Drawbridge's Unleash
 * client API, unchanged: for 10,000 users and a mix of flags (rollouts,
 * rules in order, variants with payloads, per-user overrides, prerequisites,
 * a disabled flag; conditions on several attributes, inverted, regex and date
 * operators, rule rollouts and variants, stickiness on sessions and custom
 * fields, variant overrides), isEnabled and getVariant give OFREP's answers.
 * One user in ten is anonymous (a session, no user id), so the fallbacks
 * (default stickiness, variants without a key) are compared too.
 */
const ADMIN = 'unleash-admin-token-0123456789'
const READ = 'unleash-read-token-0123456789'
const USERS = 10_000

const upstream = await startUpstream(t)
const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', ADMIN, '--read-token', READ])
const base = `http://${gw.admin}`

async function admin (method: 'PUT', path: string, body: unknown): Promise<void> {
  const res = await request(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`)
}

const FLAGS: Record<string, unknown> = {
  static: { enabled: true },
  off: { enabled: false, variants: [{ name: 'a', weight: 1 }] },
  ramp: { enabled: true, rollout: { percentage: 30, groupId: 'spring' } },
  'pro-only': { enabled: true, rules: [{ attribute: 'plan', in: ['pro'], enabled: true }], rollout: { percentage: 0 } },
  ordered: {
    enabled: true,
    rules: [
      { attribute: 'country', in: ['no'], enabled: false },
      { attribute: 'version', semverGte: '2.0.0', enabled: true },
      { attribute: 'plan', notIn: ['free'], startsWith: ['p'], enabled: true }
    ],
    rollout: { percentage: 50 }
  },
  copy: { enabled: true, variants: [{ name: 'short', weight: 30, value: 'Buy' }, { name: 'long', weight: 70, value: { text: 'Buy it now', emphasis: true } }] },
  'copy-ramp': { enabled: true, rollout: { percentage: 40 }, variants: [{ name: 'x', weight: 1, value: 7 }, { name: 'y', weight: 3 }] },
  'copy-rules': { enabled: true, rules: [{ attribute: 'plan', in: ['pro'], variant: 'gold' }, { attribute: 'targetingKey', endsWith: ['7'], enabled: false }], variants: [{ name: 'gold', weight: 0 }, { name: 'silver', weight: 5 }, { name: 'bronze', weight: 5 }] },
  child: { enabled: true, rollout: { percentage: 80 }, prerequisites: [{ flag: 'ramp' }] },
  folded: { enabled: true, rules: [{ attribute: 'country', eq: 3, enabled: true }, { attribute: 'plan', startsWith: ['P'], caseInsensitive: true, enabled: true }, { attribute: 'seats', eq: 4, enabled: true }], rollout: { percentage: 0 } },
  'child-of-variant': { enabled: true, prerequisites: [{ flag: 'copy', variant: 'long' }] },
  multi: { enabled: true, rollout: { percentage: 0 }, rules: [{ attribute: 'plan', in: ['pro', 'team'], conditions: [{ attribute: 'country', in: ['no'], inverted: true }, { attribute: 'seats', gte: 3 }] }] },
  pattern: { enabled: true, rollout: { percentage: 0 }, rules: [{ attribute: 'email', regex: '^USER-\\d*7@example\\.com$', caseInsensitive: true }, { attribute: 'email', regex: '^user-1', inverted: true, enabled: false }, { rollout: { percentage: 30, stickiness: 'default' } }] },
  dated: { enabled: true, rollout: { percentage: 0 }, rules: [{ attribute: 'currentTime', dateAfter: '2020-01-01T00:00:00Z', conditions: [{ attribute: 'plan', in: ['free'] }] }, { attribute: 'currentTime', dateBefore: '2020-01-01T00:00:00Z' }] },
  'session-ramp': { enabled: true, rollout: { percentage: 40, groupId: 'sessions', stickiness: 'sessionId' } },
  'default-ramp': { enabled: true, rollout: { percentage: 35, stickiness: 'default' } },
  'org-ramp': { enabled: true, rollout: { percentage: 60, stickiness: 'org' } },
  'everyone-random': { enabled: true, rollout: { percentage: 100, stickiness: 'random' } },
  'rule-ramps': { enabled: true, rollout: { percentage: 0 }, rules: [{ attribute: 'plan', in: ['pro'], rollout: { percentage: 50, groupId: 'pro-half' } }, { attribute: 'plan', in: ['team'], enabled: false }, { rollout: { percentage: 20, stickiness: 'sessionId' } }] },
  'rule-variants': {
    enabled: true,
    rollout: { percentage: 80 },
    variants: [{ name: 'x', weight: 1, value: 'X' }, { name: 'y', weight: 1 }, { name: 'z', weight: 0, value: { z: true }, overrides: [{ attribute: 'country', in: ['de'] }] }],
    rules: [{ attribute: 'plan', in: ['pro'], rollout: { percentage: 70, groupId: 'rv', stickiness: 'default' }, variants: [{ name: 'y', weight: 2 }, { name: 'z', weight: 1 }] }, { attribute: 'plan', in: ['plus'], variant: 'x' }]
  },
  'session-variants': { enabled: true, variantStickiness: 'sessionId', variants: [{ name: 'p', weight: 3 }, { name: 'q', weight: 5, value: 5 }], rules: [{ attribute: 'seats', in: ['0'], enabled: false }] }
}
for (const [key, body] of Object.entries(FLAGS)) await admin('PUT', `/v1/flags/${key}`, body)
await admin('PUT', '/v1/flags/ramp/overrides/user-3', { enabled: true })
await admin('PUT', '/v1/flags/ramp/overrides/user-5', { enabled: false })
await admin('PUT', '/v1/flags/copy/overrides/user-8', { variant: 'short' })
await admin('PUT', '/v1/flags/ordered/overrides/user-11', { enabled: false })
await admin('PUT', '/v1/flags/rule-variants/overrides/user-13', { variant: 'z' })
await admin('PUT', '/v1/flags/rule-ramps/overrides/user-21', { enabled: true })

/** One user in ten has only a session; every third has no org. */
function contextOf (i: number): { userId?: string, sessionId: string, properties: Record<string, string> } {
  const properties: Record<string, string> = {
    plan: ['free', 'pro', 'plus', 'team'][i % 4] as string,
    country: ['no', 'se', 'de'][i % 3] as string,
    version: ['1.9.0', '2.0.0', '2.1.3', '3.0.0-rc.1'][i % 5 % 4] as string,
    seats: String(i % 7),
    email: `User-${i}@Example.com`
  }
  if (i % 3 !== 0) properties.org = `org-${i % 97}`
  return { ...(i % 10 === 5 ? {} : { userId: `user-${i}` }), sessionId: `s-${i % 5000}`, properties }
}

t.test(`unleash-client agrees with OFREP for ${USERS} users`, async (t) => {
  const unleash = new Unleash({ url: `${base}/api`, appName: 'drawbridge-test', customHeaders: { Authorization: READ }, refreshInterval: 60_000, disableMetrics: true })
  t.teardown(() => { unleash.destroy() })
  const errors: string[] = []
  unleash.on(UnleashEvents.Error, (err: Error) => errors.push(err.message))
  unleash.on(UnleashEvents.Warn, (msg: string) => errors.push(String(msg)))
  await once(unleash, UnleashEvents.Synchronized)

  let compared = 0
  const disagreements: string[] = []
  const compare = async (i: number): Promise<void> => {
    const ctx = contextOf(i)
    const res = await request(`${base}/ofrep/v1/evaluate/flags`, {
      method: 'POST', headers: { authorization: `Bearer ${READ}`, 'content-type': 'application/json' }, body: JSON.stringify({ context: { targetingKey: ctx.userId, sessionId: ctx.sessionId, ...ctx.properties } })
    })
    const { flags } = await res.body.json() as { flags: Array<{ key: string, value?: unknown, variant?: string }> }
    for (const f of flags) {
      compared++
      const hasVariants = (FLAGS[f.key] as { variants?: unknown[] }).variants !== undefined
      const enabled = unleash.isEnabled(f.key, ctx)
      if (!hasVariants) {
        // An OFREP error (no targeting key for a rollout) has no value: the provider answers the code default, false.
        if (enabled !== (f.value ?? false)) disagreements.push(`${f.key} ${ctx.userId ?? ctx.sessionId}: unleash ${String(enabled)}, ofrep ${String(f.value)}`)
        continue
      }
      const variant = unleash.getVariant(f.key, ctx)
      const ofrepOn = f.value !== undefined
      const unleashSays = variant.enabled ? variant.name : 'off'
      const ofrepSays = ofrepOn ? f.variant : 'off'
      if (unleashSays !== ofrepSays || enabled !== ofrepOn) disagreements.push(`${f.key} ${ctx.userId ?? ctx.sessionId}: unleash ${unleashSays}/${String(enabled)}, ofrep ${String(ofrepSays)}`)
      if (variant.enabled && variant.payload !== undefined) {
        const value = variant.payload.type === 'json' ? JSON.parse(variant.payload.value) : variant.payload.type === 'number' ? Number(variant.payload.value) : variant.payload.value
        if (JSON.stringify(value) !== JSON.stringify(f.value)) disagreements.push(`${f.key} ${ctx.userId ?? ctx.sessionId}: payload ${variant.payload.value}, ofrep ${JSON.stringify(f.value)}`)
      }
    }
  }
  // Sixteen OFREP calls in flight: the comparison, not the round trips, is what is measured.
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => { while (next < USERS) await compare(next++) }))
  t.equal(compared, USERS * Object.keys(FLAGS).length)
  t.same(disagreements.slice(0, 20), [], `${disagreements.length} of ${compared} evaluations disagree`)
  t.same(errors, [], 'the SDK reported no error or warning')
  t.comment(`${compared} evaluations compared, ${compared - disagreements.length} agree`)
})

t.test('the client API: raw-token auth, ETag, registration and metrics', async (t) => {
  const features = await request(`${base}/api/client/features`, { headers: { authorization: READ } })
  t.equal(features.statusCode, 200)
  const etag = features.headers.etag as string
  const body = await features.body.json() as { version: number, features: Array<{ name: string, dependencies?: unknown }> }
  t.equal(body.version, 2)
  t.match(body.features.find((f) => f.name === 'child'), { dependencies: [{ feature: 'ramp', enabled: true }] })
  const again = await request(`${base}/api/client/features`, { headers: { authorization: READ, 'if-none-match': etag } })
  await again.body.dump()
  t.equal(again.statusCode, 304)
  const anonymous = await request(`${base}/api/client/features`)
  await anonymous.body.dump()
  t.equal(anonymous.statusCode, 401)
  const register = await request(`${base}/api/client/register`, { method: 'POST', headers: { authorization: READ, 'content-type': 'application/json' }, body: JSON.stringify({ appName: 'shop', instanceId: 'i1', strategies: ['default'], started: new Date().toISOString(), interval: 60000 }) })
  await register.body.dump()
  t.equal(register.statusCode, 202)
  const metrics = await request(`${base}/api/client/metrics`, {
    method: 'POST', headers: { authorization: READ, 'content-type': 'application/json' }, body: JSON.stringify({ appName: 'shop', instanceId: 'i1', bucket: { start: new Date().toISOString(), stop: new Date().toISOString(), toggles: { static: { yes: 3, no: 0 }, nope: { yes: 1, no: 1 } } } })
  })
  await metrics.body.dump()
  t.equal(metrics.statusCode, 202)
  const flag = await request(`${base}/v1/flags/static`, { headers: { authorization: `Bearer ${READ}` } })
  t.match(await flag.body.json(), { lastEvaluatedAt: /Z$/ }, 'reported evaluations count as usage')
  const bad = await request(`${base}/api/client/metrics`, { method: 'POST', headers: { authorization: READ, 'content-type': 'application/json' }, body: JSON.stringify({ bucket: 'x' }) })
  t.equal(bad.statusCode, 400)
  await bad.body.dump()
})
