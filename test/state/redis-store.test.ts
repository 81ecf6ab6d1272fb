import type { StoreBudgets } from '../../src/state/budgets.js'
import t, { type Test } from 'tap'
import { createStore } from '../../src/state/create-store.js'
import { redisOptionsFromConfig } from '../../src/state/redis-options.js'
import { RedisStore } from '../../src/state/redis-store.js'
import { StateHolder } from '../../src/state/state-holder.js'
import type { SharedState } from '../../src/state/types.js'
import {
  eventually, freePort, killProcess, rawRedis, REDIS_URL, silentLogger,
  startRedisServer, testConfig, uniquePrefix, waitForState
} from './helpers.js'
import { measurePropagation } from './propagation.js'
import { storeContract } from './store-contract.js'

const PREFIX = uniquePrefix('redis-store')
let stores = 0

function openStore (t: Test, url: string, keyPrefix: string, extra: { budgets?: Partial<StoreBudgets>, resyncIntervalMs?: number } = {}): RedisStore {
  const store = new RedisStore({
    logger: silentLogger,
    connection: redisOptionsFromConfig({ redisUrl: url }),
    keyPrefix,
    resyncIntervalMs: extra.resyncIntervalMs ?? 200,
    ...(extra.budgets === undefined ? {} : { budgets: extra.budgets })
  })
  t.teardown(() => store.close())
  return store
}

async function replica (t: Test, url: string, keyPrefix: string): Promise<{ store: RedisStore, holder: StateHolder }> {
  const store = openStore(t, url, keyPrefix)
  const holder = new StateHolder(store, silentLogger, 100)
  t.teardown(() => { holder.stop() })
  await holder.start()
  return { store, holder }
}

t.before(async () => {
  // Deletes every key this file created, whatever the sub-prefix.
  await rawRedis(t, REDIS_URL, PREFIX)
})

storeContract(t, async (t, { budgets }) => openStore(t, REDIS_URL, `${PREFIX}contract${++stores}:`, { budgets }))

t.test('createStore picks Redis for a redisUrl and honours the key prefix', async (t) => {
  const keyPrefix = `${PREFIX}create:`
  const store = createStore(testConfig({ redisUrl: REDIS_URL, redis: { keyPrefix } }), silentLogger)
  t.teardown(() => store.close())
  t.ok(store instanceof RedisStore)
  const state = await store.load()
  const raw = await rawRedis(t, REDIS_URL)
  t.equal(await raw.get(`${keyPrefix}version`), '0')
  t.equal((JSON.parse(await raw.get(`${keyPrefix}state`) ?? '{}') as SharedState).signingKey, state.signingKey)
})

t.test('two replicas agree within a second after a write on either', async (t) => {
  const keyPrefix = `${PREFIX}replicas:`
  const a = await replica(t, REDIS_URL, keyPrefix)
  const b = await replica(t, REDIS_URL, keyPrefix)
  t.equal(a.holder.current?.signingKey, b.holder.current?.signingKey, 'one signing key for every replica')
  await eventually(() => a.store.health().ok && b.store.health().ok, 2000, 'both connected')

  await measurePropagation(t, a, b, 'redis')
})

t.test('concurrent writers on two replicas never lose an update', async (t) => {
  const keyPrefix = `${PREFIX}cas:`
  const a = openStore(t, REDIS_URL, keyPrefix)
  const b = openStore(t, REDIS_URL, keyPrefix)
  const start = await a.load()
  await b.load()
  const increment = (store: RedisStore): Promise<SharedState> => store.update(async (d) => {
    const seen = d.maintenance.retryAfter ?? 0
    await new Promise((resolve) => setImmediate(resolve))
    d.maintenance.retryAfter = seen + 1
    return d
  })
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 === 0 ? a : b)))
  const versions = results.map((s) => s.version).sort((x, y) => x - y)
  t.same(versions, Array.from({ length: 20 }, (_, i) => start.version + i + 1), 'each write got its own version')
  const end = await a.load()
  t.equal(end.maintenance.retryAfter, 20, 'all 20 increments landed')
  t.equal(end.version, start.version + 20)
})

t.test('periodic resync heals a missed message; an older message never rolls state back', async (t) => {
  const keyPrefix = `${PREFIX}resync:`
  const a = await replica(t, REDIS_URL, keyPrefix)
  const raw = await rawRedis(t, REDIS_URL)
  const current = a.holder.current as SharedState
  // A write whose PUBLISH this replica never saw.
  const newer: SharedState = { ...current, version: current.version + 5, maintenance: { ...current.maintenance, message: 'missed' } }
  await raw.mset(`${keyPrefix}state`, JSON.stringify(newer), `${keyPrefix}version`, String(newer.version))
  const started = performance.now()
  await waitForState(a.holder, (s) => s.version === newer.version, 2000)
  t.comment(`caught up by resync in ${(performance.now() - started).toFixed(0)} ms (interval 200 ms)`)
  t.equal(a.holder.current?.maintenance.message, 'missed')

  await raw.publish(`${keyPrefix}changes`, JSON.stringify({ ...current, maintenance: { ...current.maintenance, message: 'stale' } }))
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(a.holder.current?.maintenance.message, 'missed', 'stale message ignored')
})

t.test('when Redis loses the state, replicas restore the newest they had', async (t) => {
  const keyPrefix = `${PREFIX}restore:`
  const a = await replica(t, REDIS_URL, keyPrefix)
  const written = await a.store.update((d) => { d.maintenance.enabled = true; d.maintenance.message = 'keep me'; return d })
  const raw = await rawRedis(t, REDIS_URL)
  await raw.del(`${keyPrefix}state`, `${keyPrefix}version`)
  await eventually(async () => (await raw.get(`${keyPrefix}version`)) === String(written.version), 2000, 'state restored into Redis')
  const restored = JSON.parse(await raw.get(`${keyPrefix}state`) ?? '{}') as SharedState
  t.equal(restored.maintenance.message, 'keep me')
  t.equal(restored.signingKey, written.signingKey)
})

t.test('outage: replicas keep the last state, fail fast, reconnect and catch up', async (t) => {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let server = await startRedisServer(port)
  t.teardown(() => killProcess(server))
  const keyPrefix = uniquePrefix('outage')
  const a = await replica(t, url, keyPrefix)
  const b = await replica(t, url, keyPrefix)
  const before = await a.store.update((d) => { d.maintenance.enabled = true; d.maintenance.message = 'before outage'; return d })
  await waitForState(b.holder, (s) => s.version === before.version)

  await killProcess(server, 'SIGKILL')
  const detectMs = await eventually(() => /ECONNREFUSED/.test(a.store.health().reason ?? '') && /ECONNREFUSED/.test(b.store.health().reason ?? ''), 3000, 'outage reported')
  t.comment(`outage reported by health() after ${detectMs.toFixed(0)} ms: ${JSON.stringify(a.store.health())}`)
  t.same(a.store.health(), { ok: false, reason: 'redis unreachable: ECONNREFUSED' })
  t.match(b.holder.health(), { ok: false, reason: /redis unreachable/ }, 'the holder (and /readyz) reports it')
  for (const r of [a, b]) {
    t.equal(r.holder.current?.version, before.version, 'holder keeps the last state')
    t.equal(r.holder.current?.maintenance.message, 'before outage')
  }

  let started = performance.now()
  await t.rejects(a.store.update((d) => { d.maintenance.enabled = false; return d }), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE', statusCode: 503, message: /redis unreachable: ECONNREFUSED/ })
  const updateMs = performance.now() - started
  started = performance.now()
  await t.rejects(b.store.load(), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' })
  await t.rejects(b.store.listAudit(5), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' })
  const readMs = performance.now() - started
  t.comment(`while down: update() rejected in ${updateMs.toFixed(1)} ms, load()+listAudit() in ${readMs.toFixed(1)} ms`)
  t.ok(updateMs < 200 && readMs < 200, 'rejections are immediate, not timeouts')
  t.equal(a.holder.current?.maintenance.enabled, true, 'failed write changed nothing')

  // Redis comes back empty (no persistence); another client writes a newer
  // state before or while the replicas reconnect, without publishing it.
  server = await startRedisServer(port)
  const restartedAt = performance.now()
  const raw = await rawRedis(t, url)
  const newer: SharedState = { ...before, version: before.version + 10, maintenance: { ...before.maintenance, message: 'written while replicas were away' } }
  await raw.mset(`${keyPrefix}state`, JSON.stringify(newer), `${keyPrefix}version`, String(newer.version))
  await Promise.all([a, b].map((r) => waitForState(r.holder, (s) => s.version === newer.version, 5000)))
  const catchUpMs = performance.now() - restartedAt
  await eventually(() => a.store.health().ok && b.store.health().ok, 5000, 'both stores healthy again')
  t.comment(`after restart: both replicas caught up with the newer state in ${catchUpMs.toFixed(0)} ms; healthy after ${(performance.now() - restartedAt).toFixed(0)} ms`)
  t.equal(b.holder.current?.maintenance.message, 'written while replicas were away')
  t.same(a.holder.health(), { ok: true, reason: null })

  const after = await b.store.update((d) => { d.maintenance.enabled = false; return d })
  t.equal(after.version, newer.version + 1, 'writes resume on top of the newest state')
  await waitForState(a.holder, (s) => s.version === after.version, 1000)
  t.equal(a.holder.current?.maintenance.enabled, false, 'pub/sub works again')
})

t.test('started while Redis is down: load() rejects at once, the holder loads when Redis arrives', async (t) => {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  const store = openStore(t, url, uniquePrefix('late'))
  const started = performance.now()
  await t.rejects(store.load(), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE', message: /redis unreachable: ECONNREFUSED/ })
  const rejectMs = performance.now() - started
  t.ok(rejectMs < 500, `load() rejected in ${rejectMs.toFixed(0)} ms`)
  await t.rejects(store.update((d) => d), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' })
  const holder = new StateHolder(store, silentLogger, 100)
  t.teardown(() => { holder.stop() })
  await holder.start()
  t.equal(holder.loaded, false)
  t.match(holder.health(), { ok: false, reason: /state not loaded: .*redis unreachable/ })

  const server = await startRedisServer(port)
  t.teardown(() => killProcess(server))
  const state = await waitForState(holder, () => true, 5000)
  t.equal(state.version, 0, 'initial state created once Redis is there')
  await eventually(() => holder.health().ok, 5000, 'holder healthy')
  t.pass('loaded and healthy after Redis arrived')
})

t.test('a write publishes its version, not the document: a 5 MB state reaches the other replica without passing through pub/sub', async (t) => {
  const keyPrefix = `${PREFIX}publish-version:`
  const a = await replica(t, REDIS_URL, keyPrefix)
  const b = await replica(t, REDIS_URL, keyPrefix)
  await eventually(() => a.store.health().ok && b.store.health().ok, 2000, 'both connected')
  const listener = await rawRedis(t, REDIS_URL)
  const messages: string[] = []
  listener.on('message', (_channel: string, message: string) => { messages.push(message) })
  await listener.subscribe(`${keyPrefix}changes`)

  const allow = Array.from({ length: 300_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32`)
  const started = performance.now()
  const written = await a.store.update((d) => { d.maintenance.allow = allow; return d })
  const seen = await waitForState(b.holder, (s) => s.version === written.version, 5000)
  t.comment(`${(JSON.stringify(written).length / 1e6).toFixed(1)} MB state on the other replica after ${(performance.now() - started).toFixed(0)} ms`)
  t.equal(seen.maintenance.allow.length, 300_000)
  await eventually(() => messages.length > 0, 2000, 'the write was published')
  t.same(messages, [String(written.version)], 'the message is the version alone')
})

t.test('writes keep working after SCRIPT FLUSH (the scripts are sent again)', async (t) => {
  const keyPrefix = `${PREFIX}script-flush:`
  const store = openStore(t, REDIS_URL, keyPrefix)
  await store.load()
  await store.update((d) => { d.maintenance.message = 'before'; return d })
  const raw = await rawRedis(t, REDIS_URL)
  await raw.script('FLUSH')
  const after = await store.update((d) => { d.maintenance.message = 'after'; return d })
  t.equal(after.maintenance.message, 'after')
  await store.appendAudit({ id: 'a1', at: new Date().toISOString(), actor: 't', action: 'x', target: 'y', before: null, after: null })
  t.equal((await store.listAudit(1))[0]?.id, 'a1')
})
