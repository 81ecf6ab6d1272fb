import type { StoreBudgets } from '../../src/state/budgets.js'
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { IpcPeer, childChannel } from '../../src/ipc/ipc-peer.js'
import { IpcStore } from '../../src/state/ipc-store.js'
import { eventually, silentLogger } from './helpers.js'
import { storeContract } from './store-contract.js'

const CHILD = fileURLToPath(new URL('./fixtures/ipc-primary-child.js', import.meta.url))

/** A real child process holding a MemoryStore behind the primary's relay, as `--workers N` runs it. */
async function startPrimary (t: Test, budgets: Partial<StoreBudgets> = {}): Promise<ChildProcess> {
  const child = fork(CHILD, [JSON.stringify(budgets)], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  t.teardown(() => { if (child.connected) child.disconnect() })
  await new Promise<void>((resolve, reject) => {
    // Loading the child through tsx takes a while on a busy machine: wait until it serves.
    child.once('message', () => { resolve() })
    child.once('error', reject)
    child.once('exit', (code) => { reject(new Error(`stand-in primary exited with ${String(code)}`)) })
  })
  return child
}

function storeFor (t: Test, child: ChildProcess, resyncIntervalMs = 60_000): IpcStore {
  const peer = new IpcPeer(childChannel(child))
  const store = new IpcStore({ logger: silentLogger, primary: peer, resyncIntervalMs, requestTimeoutMs: 5000 })
  t.teardown(async () => { await store.close(); peer.close() })
  return store
}

storeContract(t, async (t, { budgets }) => storeFor(t, await startPrimary(t, budgets)))

t.test('two workers on one primary: each sees the other\'s writes, and concurrent writes all land', async (t) => {
  const child = await startPrimary(t)
  const a = storeFor(t, child)
  const b = storeFor(t, child)
  await Promise.all([a.load(), b.load()])
  const seenByB: number[] = []
  t.teardown(b.subscribe((s) => { seenByB.push(s.version) }))
  const one = await a.update((d) => { d.maintenance.enabled = true; return d })
  await eventually(() => seenByB.includes(one.version), 2000, 'push to the other worker')
  t.equal((await b.load()).maintenance.enabled, true)

  // Both workers increment at once: the primary's compare-and-set makes the losers retry, none is lost.
  const bump = (store: IpcStore): Promise<unknown> => store.update(async (d) => {
    const seen = d.maintenance.retryAfter ?? 0
    await new Promise((resolve) => setImmediate(resolve))
    d.maintenance.retryAfter = seen + 1
    return d
  })
  await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 === 0 ? a : b)))
  const end = await a.load()
  t.equal(end.maintenance.retryAfter, 20, 'every increment applied')
  t.equal(end.version, one.version + 20)
  t.same(seenByB, [...seenByB].sort((x, y) => x - y), 'versions only grow')
})

t.test('a worker that has not asked still gets the state from the periodic resync', async (t) => {
  const child = await startPrimary(t)
  const store = storeFor(t, child, 100)
  const seen: number[] = []
  t.teardown(store.subscribe((s) => { seen.push(s.version) }))
  await eventually(() => seen.length > 0, 5000, 'resync')
  t.same(seen, [0])
})

t.test('a primary that is gone is a 503 and an unhealthy store, not a hang', async (t) => {
  const child = await startPrimary(t)
  const store = storeFor(t, child)
  await store.load()
  await new Promise<void>((resolve) => { child.once('exit', () => { resolve() }); child.kill('SIGKILL') })
  await t.rejects(store.update((d) => d), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' })
  t.equal(store.health().ok, false)
  t.match(store.health().reason, /cluster primary unreachable/)
})
