import t from 'tap'
import { MemoryStore } from '../../src/state/memory-store.js'
import { silentLogger } from './helpers.js'
import { storeContract } from './store-contract.js'

storeContract(t, async (t, { budgets }) => {
  const store = new MemoryStore({ logger: silentLogger, budgets })
  t.teardown(() => store.close())
  return store
})

t.test('a closed store refuses writes', async (t) => {
  const store = new MemoryStore({ logger: silentLogger })
  await store.load()
  await store.close()
  await t.rejects(store.update((d) => d), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' })
})
