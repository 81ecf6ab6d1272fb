import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Cluster } from 'ioredis'
import t, { type Test } from 'tap'
import type { StoreBudgets } from '../../src/state/budgets.js'
import { createStore } from '../../src/state/create-store.js'
import { redisOptionsFromConfig } from '../../src/state/redis-options.js'
import { RedisStore } from '../../src/state/redis-store.js'
import { StateHolder } from '../../src/state/state-holder.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { ADMIN_TOKEN, patch, timeUntil, warmAdmin } from './gateway-client.js'
import { eventually, silentLogger, testConfig, uniquePrefix } from './helpers.js'
import { measurePropagation, type Replica } from './propagation.js'
import { tempDir } from './redis-processes.js'
import { startCluster } from './redis-topologies.js'
import { storeContract } from './store-contract.js'

// A real Redis Cluster: three primaries on free ports, every slot assigned.
const dir = tempDir(t, 'redis-cluster')
let nodes: Array<{ host: string, port: number }> = []
let stores = 0

t.before(async () => {
  nodes = await startCluster(t, dir)
})

function openStore (t: Test, keyPrefix: string, budgets?: Partial<StoreBudgets>): RedisStore {
  const store = new RedisStore({
    logger: silentLogger,
    connection: redisOptionsFromConfig({ redis: { keyPrefix, cluster: nodes } }),
    cluster: nodes,
    keyPrefix,
    resyncIntervalMs: 200,
    ...(budgets === undefined ? {} : { budgets })
  })
  t.teardown(() => store.close())
  return store
}

async function replica (t: Test, keyPrefix: string): Promise<Replica> {
  const store = openStore(t, keyPrefix)
  const holder = new StateHolder(store, silentLogger, 100)
  t.teardown(() => { holder.stop() })
  await holder.start()
  return { store, holder }
}

t.test('the store contract on a Redis Cluster', async (t) => {
  storeContract(t, async (t, { budgets }) => openStore(t, uniquePrefix(`cluster-contract${++stores}`), budgets))
})

t.test('every key of a store lives in one slot, named by a hash tag of the prefix', async (t) => {
  const keyPrefix = uniquePrefix('cluster-slot')
  const store = createStore(testConfig({ redisClusterNodes: nodes.map((n) => `${n.host}:${n.port}`), redis: { keyPrefix } }), silentLogger)
  t.teardown(() => store.close())
  t.ok(store instanceof RedisStore, 'redisClusterNodes selects the Redis store')
  await store.load()
  await store.update((d) => { d.maintenance.message = 'in one slot'; return d })
  await store.appendAudit({ id: 'a1', at: new Date().toISOString(), actor: 't', action: 'x', target: 'y', before: null, after: null })

  const raw = new Cluster(nodes, { lazyConnect: true })
  t.teardown(() => { raw.disconnect() })
  await raw.connect()
  const tagged = `{${keyPrefix}}`
  const slots = new Set<number>()
  for (const key of ['state', 'version', 'audit', 'audit-bytes', 'changes']) slots.add(await raw.call('CLUSTER', 'KEYSLOT', `${tagged}${key}`) as number)
  t.equal(slots.size, 1, `state, version, audit and the channel share slot ${[...slots].join()}`)
  t.equal(await raw.get(`${tagged}version`), '1', 'written under the hash-tagged prefix')
  t.equal(await raw.llen(`${tagged}audit`), 1)
})

t.test('two replicas on the Cluster agree within a second after a write on either', async (t) => {
  const keyPrefix = uniquePrefix('cluster-replicas')
  const a = await replica(t, keyPrefix)
  const b = await replica(t, keyPrefix)
  await eventually(() => a.store.health().ok && b.store.health().ok, 5000, 'both connected')
  await measurePropagation(t, a, b, 'redis cluster')
})

t.test('two gateways on the Cluster, one given the nodes in its config file, one by flag, propagate toggles within a second', async (t) => {
  const upstream = await startUpstream(t)
  const keyPrefix = uniquePrefix('cluster-e2e')
  const fileA = join(dir, 'drawbridge-a.json')
  const fileB = join(dir, 'drawbridge-b.json')
  writeFileSync(fileA, JSON.stringify({ redis: { keyPrefix, cluster: nodes } }))
  writeFileSync(fileB, JSON.stringify({ redis: { keyPrefix } }))
  const common = ['--upstream', upstream.url, '--admin-token', ADMIN_TOKEN]
  const a = await spawnGateway(t, [...common, '--config', fileA])
  const b = await spawnGateway(t, [...common, '--config', fileB, '--redis-cluster-nodes', nodes.map((n) => `${n.host}:${n.port}`).join(',')])
  await warmAdmin(a, b)

  let started = performance.now()
  t.equal(await patch(a, { enabled: true, message: 'cluster' }), 200)
  const aToB = await timeUntil(b, 503, started)
  started = performance.now()
  t.equal(await patch(b, { enabled: false }), 200)
  const bToA = await timeUntil(a, 200, started)
  t.comment(`gateways on a Redis Cluster, PATCH on one -> the other's gateway port answers accordingly: A→B ${aToB.toFixed(1)} ms, B→A ${bToA.toFixed(1)} ms`)
  t.ok(aToB < 1000 && bToA < 1000, 'both ways within a second')
})
