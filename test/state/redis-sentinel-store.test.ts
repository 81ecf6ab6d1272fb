import t, { type Test } from 'tap'
import type { StoreBudgets } from '../../src/state/budgets.js'
import { createStore } from '../../src/state/create-store.js'
import { redisOptionsFromConfig } from '../../src/state/redis-options.js'
import { RedisStore } from '../../src/state/redis-store.js'
import { StateHolder } from '../../src/state/state-holder.js'
import { eventually, silentLogger, testConfig, uniquePrefix } from './helpers.js'
import { measurePropagation, type Replica } from './propagation.js'
import { client, tempDir } from './redis-processes.js'
import { startSentinelSet, type SentinelSet } from './redis-topologies.js'
import { storeContract } from './store-contract.js'

// A primary, a replica and three sentinels on free ports; the store finds the
// primary through the sentinels. Failures are in redis-sentinel-failover.test.ts.
const dir = tempDir(t, 'redis-sentinel-store')
let set: SentinelSet
let stores = 0

t.before(async () => {
  set = await startSentinelSet(t, dir, { replicas: 1, proxies: false, downAfterMs: 5000 })
})

function sentinelConfig (keyPrefix: string): Parameters<typeof redisOptionsFromConfig>[0] {
  return { redis: { keyPrefix, name: set.name, sentinels: set.sentinels } }
}

function openStore (t: Test, keyPrefix: string, budgets?: Partial<StoreBudgets>): RedisStore {
  const store = new RedisStore({
    logger: silentLogger,
    connection: redisOptionsFromConfig(sentinelConfig(keyPrefix)),
    keyPrefix,
    resyncIntervalMs: 200,
    ...(budgets === undefined ? {} : { budgets })
  })
  t.teardown(() => store.close())
  return store
}

t.test('the store contract through Sentinel', async (t) => {
  storeContract(t, async (t, { budgets }) => openStore(t, uniquePrefix(`sentinel-contract${++stores}`), budgets))
})

t.test('createStore with redis.sentinels and redis.name writes to the primary the sentinels name', async (t) => {
  const keyPrefix = uniquePrefix('sentinel-create')
  const store = createStore(testConfig(sentinelConfig(keyPrefix)), silentLogger)
  t.teardown(() => store.close())
  t.ok(store instanceof RedisStore)
  await store.update((d) => { d.maintenance.message = 'through sentinel'; return d })
  const primary = await client(t, { port: (await set.master()).server.port })
  t.equal(await primary.get(`${keyPrefix}version`), '1')
})

t.test('two replicas through Sentinel agree within a second after a write on either', async (t) => {
  const keyPrefix = uniquePrefix('sentinel-replicas')
  const replicas: Replica[] = []
  for (let i = 0; i < 2; i++) {
    const store = openStore(t, keyPrefix)
    const holder = new StateHolder(store, silentLogger, 100)
    t.teardown(() => { holder.stop() })
    await holder.start()
    replicas.push({ store, holder })
  }
  const [a, b] = replicas as [Replica, Replica]
  await eventually(() => a.store.health().ok && b.store.health().ok, 5000, 'both connected')
  await measurePropagation(t, a, b, 'redis sentinel')
})
