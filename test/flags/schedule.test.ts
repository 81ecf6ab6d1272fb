import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { ADMIN_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { compileFlags } from '../../src/flags/compile.js'
import { evaluateKey } from '../../src/flags/evaluate.js'
import { initialState } from '../../src/state/initial-state.js'
import type { Flag } from '../../src/state/types.js'

// Scheduled ramps: enabled and rollout as a pure function of the clock, the same on every replica.
const admin = { ...auth(ADMIN_TOKEN), 'content-type': 'application/json' }
const iso = (ms: number): string => new Date(ms).toISOString()

t.test('evaluation at an instant: each step holds from its time until the next', async (t) => {
  const state = initialState()
  const base = Date.parse('2026-12-01T09:00:00Z')
  const flag: Flag = {
    key: 'ramp',
    description: null,
    enabled: false,
    rollout: { percentage: 0 },
    variants: null,
    rules: null,
    gate: null,
    requires: null,
    prerequisites: null,
    schedule: [{ at: iso(base), enabled: true, percentage: 10 }, { at: iso(base + 3_600_000), percentage: 100 }, { at: iso(base + 7_200_000), enabled: false }],
    createdAt: '',
    updatedAt: ''
  }
  state.flags = { ramp: flag }
  // Two replicas compile the same state on their own.
  const [one, two] = [compileFlags(state), compileFlags(structuredClone(state))]
  const users = Array.from({ length: 200 }, (_, i) => `user-${i}`)
  const share = (table: typeof one, now: number): number => users.filter((u) => evaluateKey(table, 'ramp', { targetingKey: u, attributes: {}, now }).value).length
  t.equal(share(one, base - 1), 0, 'before the first step: the flag\'s own fields (off)')
  const at10 = share(one, base)
  t.ok(at10 > 5 && at10 < 40, `10% step: ${at10} of 200 on`)
  t.equal(share(two, base + 1000), at10, 'another replica agrees at the same instant')
  t.equal(share(one, base + 3_600_000), 200, 'the 100% step')
  t.equal(share(one, base + 7_200_000), 0, 'the last step turns it off')
  t.match(evaluateKey(one, 'ramp', { targetingKey: 'u', attributes: {}, now: base + 7_200_000 }), { reason: 'DISABLED' })
})

t.test('through the API: validation, what is in force, and schedule: null stops the ramp where it is', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const put = async (body: unknown) => await app.inject({ method: 'PUT', url: '/v1/flags/ramp', headers: admin, payload: body as object })
  const refusals: Array<[unknown, RegExp]> = [
    [[{ at: 'tomorrow', percentage: 10 }], /schedule\/0\/at must be an ISO 8601 date-time/],
    [[{ at: '2026-12-02T00:00:00Z', percentage: 10 }, { at: '2026-12-01T00:00:00Z', percentage: 20 }], /schedule\/1\/at must be later than the step before it/],
    [[{ at: '2026-12-02T00:00:00Z' }], /schedule\/0 must set percentage, enabled or both/],
    [[{ at: '2026-12-02T00:00:00Z', percentage: 101 }], /percentage must be <= 100/]
  ]
  for (const [schedule, message] of refusals) {
    const res = await put({ enabled: true, schedule })
    t.equal(res.statusCode, 400, JSON.stringify(schedule))
    t.match(res.json().message, message)
  }
  const now = Date.now()
  const created = await put({ enabled: true, rollout: { percentage: 0, groupId: 'g' }, schedule: [{ at: iso(now - 60_000), percentage: 25 }, { at: iso(now + 3_600_000), percentage: 100 }] })
  t.equal(created.statusCode, 201, created.body)
  t.match(created.json(), { rollout: { percentage: 0 }, inForce: { enabled: true, percentage: 25, step: 0, nextAt: iso(now + 3_600_000) } })
  const stopped = await app.inject({ method: 'PATCH', url: '/v1/flags/ramp', headers: admin, payload: { schedule: null } })
  t.equal(stopped.statusCode, 200)
  t.match(stopped.json(), { schedule: null, rollout: { percentage: 25, groupId: 'g' }, enabled: true })
  t.notOk('inForce' in stopped.json())
  const audit = (await app.inject({ method: 'GET', url: '/v1/audit', headers: admin })).json() as { entries: Array<{ action: string, after: unknown }> }
  t.match(audit.entries[0], { action: 'flag.update' }, 'the stop is audited like any change')
})

t.test('the gateway\'s flags header follows a step the moment it begins, with no new state', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', ADMIN_TOKEN, '--flags-identity', 'header:x-user-id'])
  // The admin port builds its API on its first request (lazy-admin.ts): done first, so the step below is still ahead when checked.
  await (await request(`http://${gw.admin}/v1/flags`, { headers: admin })).body.dump()
  const stepAt = Date.now() + 3000
  const res = await request(`http://${gw.admin}/v1/flags/launch`, { method: 'PUT', headers: admin, body: JSON.stringify({ enabled: false, schedule: [{ at: iso(stepAt), enabled: true }] }) })
  t.equal(res.statusCode, 201, await res.body.text())
  const flagsHeader = async (): Promise<string> => {
    const r = await request(`http://${gw.gateway}/`, { headers: { 'x-user-id': 'alice' } })
    const echoed = await r.body.json() as { headers: Record<string, string> }
    return echoed.headers['x-drawbridge-flags'] ?? ''
  }
  t.equal(await flagsHeader(), '', 'before the step: off (and the answer is cached for alice)')
  await sleep(Math.max(0, stepAt - Date.now()) + 50)
  t.equal(await flagsHeader(), 'launch', 'after it: on, although no state changed')
  const bulk = async (etag?: string) => await request(`http://${gw.admin}/ofrep/v1/evaluate/flags`, { method: 'POST', headers: { ...admin, ...(etag === undefined ? {} : { 'if-none-match': etag }) }, body: JSON.stringify({ context: { targetingKey: 'alice' } }) })
  const first = await bulk()
  const etag = first.headers.etag as string
  await first.body.dump()
  const again = await bulk(etag)
  await again.body.dump()
  t.equal(again.statusCode, 304, 'unchanged answers: 304')
})
