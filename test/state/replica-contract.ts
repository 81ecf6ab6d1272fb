import type { Test } from 'tap'
import { StateHolder } from '../../src/state/state-holder.js'
import type { SharedState, StateStore } from '../../src/state/types.js'
import { eventually, silentLogger } from './helpers.js'
import { measurePropagation } from './propagation.js'

/** Opens a store on the shared namespace `name` (a key prefix, a schema): two calls with one name are two replicas of one state. Closed at teardown by the factory. */
export type ReplicaFactory = (t: Test, name: string) => StateStore

async function replica (t: Test, open: ReplicaFactory, name: string): Promise<{ store: StateStore, holder: StateHolder }> {
  const store = open(t, name)
  const holder = new StateHolder(store, silentLogger, 100)
  t.teardown(() => { holder.stop() })
  await holder.start()
  return { store, holder }
}

/**
 * What every store shared by replicas (Redis, PostgreSQL) must do, with two
 * stores in this process standing for two replicas. Run by each shared
 * store's test file; the propagation figures are printed side by side.
 */
export function replicaContract (t: Test, label: string, open: ReplicaFactory): void {
  t.test('two replicas agree within a second after a write on either', async (t) => {
    const a = await replica(t, open, 'replicas')
    const b = await replica(t, open, 'replicas')
    t.equal(a.holder.current?.signingKey, b.holder.current?.signingKey, 'one signing key for every replica')
    await eventually(() => a.store.health().ok && b.store.health().ok, 2000, 'both connected')

    await measurePropagation(t, a, b, label)
  })

  t.test('concurrent writers on two replicas never lose an update', async (t) => {
    const a = open(t, 'cas')
    const b = open(t, 'cas')
    const start = await a.load()
    await b.load()
    const increment = (store: StateStore): Promise<SharedState> => store.update(async (d) => {
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
}
