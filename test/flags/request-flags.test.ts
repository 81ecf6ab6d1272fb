import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config/load.js'
import type { AppContext } from '../../src/context.js'
import { DrawbridgeEvents } from '../../src/events.js'
import { createRequestFlags } from '../../src/flags/request-flags.js'
import { flagRuntime } from '../../src/flags/flag-runtime.js'
import { createLogger } from '../../src/logger.js'
import { Metrics } from '../../src/metrics.js'
import { buildGateway } from '../../src/proxy/gateway.js'
import { createStore } from '../../src/state/create-store.js'
import { StateHolder } from '../../src/state/state-holder.js'
import type { Flag, FlagOverride } from '../../src/state/types.js'
import { startUpstream } from '../helpers/upstream.js'
import { fetchText } from '../proxy/helpers.js'
import { makeFlag } from './helpers.js'

async function start (t: Test, flags: string[]) {
  const upstream = await startUpstream(t)
  const config = loadConfig(['--upstream', upstream.url, ...flags], {})
  const logger = createLogger('silent')
  const store = createStore(config, logger)
  const holder = new StateHolder(store, logger, 100)
  await holder.start()
  const ctx: AppContext = { config, logger, store, holder, events: new DrawbridgeEvents(), metrics: new Metrics(), appliedMigrations: null }
  const gateway = await buildGateway(ctx, { requestFlags: createRequestFlags(ctx) })
  const address = await gateway.listen('127.0.0.1', 0)
  t.teardown(async () => {
    await gateway.close(0)
    holder.stop()
    await store.close()
  })
  const setFlags = async (list: Flag[], overrides: Record<string, Record<string, FlagOverride>> = {}): Promise<void> => {
    await store.update((draft) => ({ ...draft, flags: Object.fromEntries(list.map((f) => [f.key, f])), overrides }))
  }
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetchText(`http://${address}${path}`, { headers })
    return { ...res, upstream: res.status === 200 ? JSON.parse(res.text) as { url: string, headers: Record<string, string> } : null }
  }
  return { ctx, setFlags, get }
}

t.test('X-Drawbridge-Flags lists the flags on for the request; client copies are dropped', async (t) => {
  const { setFlags, get } = await start(t, ['--flags-identity', 'header:X-User-Id'])
  const none = await get('/a', { 'x-drawbridge-flags': 'forged,admin=yes' })
  t.equal(none.upstream?.headers['x-drawbridge-flags'], undefined, 'no flags: nothing, and the forged header is gone')

  await setFlags([
    makeFlag('always'),
    makeFlag('never', { enabled: false }),
    makeFlag('alice-only', { rollout: { percentage: 0 } }),
    makeFlag('theme', { variants: [{ name: 'dark', weight: 1 }] }),
    makeFlag('internal', { rollout: { percentage: 0 }, rules: [{ attribute: 'ip', cidr: ['127.0.0.0/8'] }] }),
    makeFlag('api-path', { rollout: { percentage: 0 }, rules: [{ attribute: 'path', startsWith: ['/api/'] }] })
  ], { 'alice-only': { alice: { enabled: true } } })

  const anon = await get('/a', { 'x-drawbridge-flags': 'forged' })
  t.equal(anon.upstream?.headers['x-drawbridge-flags'], 'always,internal,theme=dark')
  const alice = await get('/api/x', { 'x-user-id': 'alice' })
  t.equal(alice.upstream?.headers['x-drawbridge-flags'], 'alice-only,always,api-path,internal,theme=dark')
  t.equal(alice.upstream?.headers['x-user-id'], 'alice', 'the identity header itself is forwarded untouched')
})

t.test('gates answer their status while the flag is off for the request', async (t) => {
  const { ctx, setFlags, get } = await start(t, ['--flags-identity', 'header:x-user-id'])
  await setFlags([
    makeFlag('v2', { rollout: { percentage: 0 }, gate: { paths: ['/v2/'], status: 404 } }),
    makeFlag('admin-ui', { enabled: false, gate: { paths: ['/admin'], status: 403 } })
  ], { v2: { beta: { enabled: true } } })

  t.equal((await get('/v2')).status, 404)
  t.equal((await get('/v2/orders?x=1')).status, 404)
  t.equal((await get('/%76%32/orders')).status, 404, 'the normalised path is matched')
  t.equal((await get('/v1/../v2/orders')).status, 404)
  t.equal((await get('/v2-beta')).status, 200, 'whole segments only')
  t.equal((await get('/admin/users')).status, 403)
  const json = await get('/admin', { accept: 'application/json' })
  t.same(JSON.parse(json.text), { statusCode: 403, error: 'Forbidden' }, 'the gate answer follows content negotiation')

  const beta = await get('/v2/orders', { 'x-user-id': 'beta' })
  t.equal(beta.status, 200, 'on for this user: proxied')
  t.equal(beta.upstream?.url, '/v2/orders')
  t.equal(beta.upstream?.headers['x-drawbridge-flags'], 'v2')

  await setFlags([makeFlag('v2', { gate: { paths: ['/v2/'], status: 404 } })])
  t.equal((await get('/v2/orders')).status, 200, 'flag flipped on: the path is open for everyone')

  // usage was recorded on the request path and is visible after a harvest
  const usage = await flagRuntime(ctx).snapshot()
  t.ok((usage.labels('v2')?.get('on') ?? 0) > Date.now() - 60_000)
  t.ok((usage.labels('v2')?.get('off') ?? 0) > Date.now() - 60_000)
})

t.test('identity from a cookie', async (t) => {
  const { setFlags, get } = await start(t, ['--flags-identity', 'cookie:uid'])
  await setFlags([makeFlag('beta', { rollout: { percentage: 0 } })], { beta: { 'a@b.example': { enabled: true } } })
  t.equal((await get('/', { cookie: 'theme=x; uid=a%40b.example' })).upstream?.headers['x-drawbridge-flags'], 'beta')
  t.equal((await get('/', { cookie: 'uid=someone-else' })).upstream?.headers['x-drawbridge-flags'], undefined)
  t.equal((await get('/', { 'x-user-id': 'a@b.example' })).upstream?.headers['x-drawbridge-flags'], undefined)
})

t.test('per-identity answers are reused only while flags are unchanged and no rule reads the request', async (t) => {
  const { setFlags, get } = await start(t, ['--flags-identity', 'header:X-User-Id'])
  const header = async (path: string, user: string) => (await get(path, { 'x-user-id': user })).upstream?.headers['x-drawbridge-flags']

  await setFlags([makeFlag('beta', { rollout: { percentage: 0 } })])
  t.equal(await header('/a', 'bob'), undefined, 'off for bob')
  t.equal(await header('/a', 'bob'), undefined, 'same answer from the cache')
  await setFlags([makeFlag('beta', { rollout: { percentage: 0 } })], { beta: { bob: { enabled: true } } })
  t.equal(await header('/a', 'bob'), 'beta', 'an override change is seen at once: the cache belongs to the old flags')
  t.equal(await header('/a', 'carol'), undefined, 'carol has no override')

  await setFlags([makeFlag('api-path', { rollout: { percentage: 0 }, rules: [{ attribute: 'path', startsWith: ['/api/'] }] })])
  t.equal(await header('/api/x', 'bob'), 'api-path', 'rule on path matches')
  t.equal(await header('/a', 'bob'), undefined, 'same user, other path: a rule on the path disables the cache')
})

t.test('the gateway caches only what stays true: request conditions, random draws and date thresholds', async (t) => {
  const { setFlags, get } = await start(t, ['--flags-identity', 'header:X-User-Id'])
  const header = async (path: string, user?: string) => (await get(path, user === undefined ? {} : { 'x-user-id': user })).upstream?.headers['x-drawbridge-flags']

  await setFlags([makeFlag('api', { rollout: { percentage: 0 }, rules: [{ conditions: [{ attribute: 'plan', notIn: ['x'] }, { attribute: 'path', startsWith: ['/api/'] }] }] })])
  t.equal(await header('/api/x', 'bob'), 'api')
  t.equal(await header('/a', 'bob'), undefined, 'a condition on the path, beside others, disables the cache too')

  // A random rollout answers each request anew, the same user included; a sticky one keeps its answer.
  await setFlags([makeFlag('coin', { rollout: { percentage: 50, stickiness: 'random' } }), makeFlag('sticky', { rollout: { percentage: 50, stickiness: 'default' } })])
  const coins = new Set<string | undefined>()
  const sticky = new Set<string | undefined>()
  for (let i = 0; i < 40; i++) {
    const flags = (await header('/', 'bob'))?.split(',') ?? []
    coins.add(String(flags.includes('coin')))
    sticky.add(String(flags.includes('sticky')))
  }
  t.same([...coins].sort(), ['false', 'true'], 'random: both answers for one user over 40 requests')
  t.equal(sticky.size, 1, 'default stickiness with an identity: one answer')
  const anonymous = new Set<string>()
  for (let i = 0; i < 40; i++) anonymous.add(String(((await header('/'))?.split(',') ?? []).includes('sticky')))
  t.same([...anonymous].sort(), ['false', 'true'], 'default stickiness without an identity draws per request: anonymous answers are not cached')

  // A date condition flips at its instant, though the flags did not change: the cached answer expires then.
  const at = new Date(Date.now() + 1500).toISOString()
  await setFlags([makeFlag('launch', { rollout: { percentage: 0 }, rules: [{ attribute: 'currentTime', dateAfter: at }] })])
  t.equal(await header('/', 'bob'), undefined, 'before the launch')
  t.equal(await header('/', 'bob'), undefined, 'cached')
  await new Promise((resolve) => setTimeout(resolve, Date.parse(at) - Date.now() + 50))
  t.equal(await header('/', 'bob'), 'launch', 'after it, at once')
})
