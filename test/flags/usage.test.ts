import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../src/config/schema.js'
import type { AppContext } from '../../src/context.js'
import { flagRuntime } from '../../src/flags/flag-runtime.js'
import { MS_PER_DAY, staleness } from '../../src/flags/flag-usage.js'
import { ADMIN_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'
import { makeFlag } from './helpers.js'

const admin = auth(ADMIN_TOKEN)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const LONG_AGO = '2020-01-01T00:00:00.000Z'

t.test('staleness rule', async (t) => {
  const now = Date.parse('2026-06-01T00:00:00Z')
  const old = makeFlag('f', { updatedAt: LONG_AGO })
  const recent = (days: number): number => now - days * MS_PER_DAY
  t.same(staleness(old, new Map([['on', recent(1)]]), now, 30), { reason: 'single-value', servedValue: 'on', days: 30 })
  t.same(staleness(old, new Map([['on', recent(1)], ['off', recent(40)]]), now, 30), { reason: 'single-value', servedValue: 'on', days: 30 }, 'values served before the window do not count')
  t.equal(staleness(old, new Map([['on', recent(1)], ['off', recent(2)]]), now, 30), null, 'two values: in use')
  t.same(staleness(old, undefined, now, 30), { reason: 'unused', servedValue: null, days: 30 })
  t.equal(staleness({ ...old, updatedAt: new Date(recent(3)).toISOString() }, undefined, now, 30), null, 'changed recently: not stale')
})

async function seed (t: Test, app: FastifyInstance, ctx: AppContext): Promise<void> {
  // Old flags are written straight to the store: the API would stamp them with today's date.
  await ctx.store.update((draft) => {
    for (const f of [
      makeFlag('old-on', { updatedAt: LONG_AGO }),
      makeFlag('old-split', { updatedAt: LONG_AGO, rollout: { percentage: 50 } }),
      makeFlag('old-unused', { updatedAt: LONG_AGO }),
      makeFlag('old-was-mixed', { updatedAt: LONG_AGO, enabled: true }),
      makeFlag('fresh', { updatedAt: new Date().toISOString() })
    ]) draft.flags[f.key] = f
    return draft
  })
  for (let i = 0; i < 40; i++) {
    for (const key of ['old-on', 'old-split', 'fresh', 'old-was-mixed']) {
      const res = await app.inject({ method: 'POST', url: `/ofrep/v1/evaluate/flags/${key}`, headers: admin, payload: { context: { targetingKey: `user-${i}` } } })
      t.equal(res.statusCode, 200)
    }
  }
}

async function staleKeys (app: FastifyInstance): Promise<Array<[string, string, string | null]>> {
  const res = await app.inject({ method: 'GET', url: '/v1/flags?stale=true', headers: admin })
  return (res.json().flags as Array<{ key: string, stale: { reason: string, servedValue: string | null } }>).map((f) => [f.key, f.stale.reason, f.stale.servedValue])
}

t.test('stale listing over a state file: usage persisted beside it, merged across restarts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'drawbridge-usage-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const stateFile = join(dir, 'state.json')
  // An earlier run served "off" for old-was-mixed 3 days ago.
  await writeFile(`${stateFile}.flag-usage.json`, JSON.stringify({ 'old-was-mixed\toff': Date.now() - 3 * MS_PER_DAY, 'old-on\toff': Date.now() - 90 * MS_PER_DAY }))
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--state-file', stateFile])
  const versionBefore = ctx.holder.current?.version
  await seed(t, app, ctx)
  t.equal(ctx.holder.current?.version, (versionBefore ?? 0) + 1, 'evaluations never bump the state version')

  t.same(await staleKeys(app), [
    ['old-on', 'single-value', 'on'],
    ['old-unused', 'unused', null]
  ])
  const all = (await app.inject({ method: 'GET', url: '/v1/flags', headers: admin })).json().flags as Array<{ key: string, lastEvaluatedAt: string | null }>
  t.ok(Date.parse(all.find((f) => f.key === 'old-on')?.lastEvaluatedAt ?? '') > Date.now() - 60_000, 'lastEvaluatedAt is shown')
  t.equal(all.find((f) => f.key === 'old-unused')?.lastEvaluatedAt, null)

  await flagRuntime(ctx).flush()
  const persisted = JSON.parse(await readFile(`${stateFile}.flag-usage.json`, 'utf8')) as Record<string, number>
  t.ok(persisted['old-on\ton'] !== undefined && persisted['old-on\ton'] > Date.now() - 60_000)
  t.ok(persisted['old-split\toff'] !== undefined && persisted['old-split\ton'] !== undefined)
  t.ok(persisted['old-was-mixed\toff'] !== undefined && persisted['old-was-mixed\toff'] < Date.now() - 2 * MS_PER_DAY, 'earlier entries are kept')
})

t.test('usage in Redis is shared by replicas and merged newest-wins', async (t) => {
  const prefix = `test-flag-usage-${randomBytes(4).toString('hex')}:`
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })
  const extra = { redis: { keyPrefix: prefix } } as Partial<Config>
  const one = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--redis-url', REDIS_URL], extra)
  const two = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--redis-url', REDIS_URL], extra)
  // The other replica served "off" for old-was-mixed yesterday; a stale older value must not win the merge.
  await redis.hset(`${prefix}flag-usage`, 'old-was-mixed\toff', String(Date.now() - MS_PER_DAY))
  await seed(t, one.app, one.ctx)
  await flagRuntime(one.ctx).flush()
  const stored = await redis.hgetall(`${prefix}flag-usage`)
  t.ok(Number(stored['old-on\ton']) > Date.now() - 60_000)
  t.ok(Number(stored['old-was-mixed\toff']) < Date.now() - MS_PER_DAY / 2, 'the newer entry from the other replica is kept')

  // The second replica evaluated nothing itself but sees the shared usage.
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(await staleKeys(two.app), [
    ['old-on', 'single-value', 'on'],
    ['old-unused', 'unused', null]
  ])
})
