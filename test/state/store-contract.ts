import type { Test } from 'tap'
import type { StoreBudgets } from '../../src/state/budgets.js'
import { defaultMaintenance, type AuditEntry, type Flag, type SharedState, type StateStore } from '../../src/state/types.js'

/** Builds a fresh, empty store with these budgets (defaults for the rest); closing it on teardown is the factory's job. */
export type StoreFactory = (t: Test, options: { budgets: Partial<StoreBudgets> }) => Promise<StateStore>

function flag (key: string, description: string, updatedAt = new Date().toISOString()): Flag {
  return { key, description, enabled: true, rollout: null, variants: null, rules: null, gate: null, requires: null, createdAt: updatedAt, updatedAt }
}

function auditEntry (n: number): AuditEntry {
  return { id: `id-${n}`, at: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(), actor: 'tester', action: 'test.write', target: `t${n}`, before: n - 1, after: n }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

/** The store's health once it is ok or 5 s have passed, whichever is first: the subscriber link may come up after load(). */
async function healthWhenSettled (store: StateStore): Promise<ReturnType<StateStore['health']>> {
  const deadline = Date.now() + 5_000
  while (!store.health().ok && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  return store.health()
}

/**
 * What every StateStore must do, whatever keeps the state. Run by each
 * implementation's test file with its own factory.
 */
export function storeContract (t: Test, factory: StoreFactory): void {
  t.test('load creates the initial state once', async (t) => {
    const store = await factory(t, { budgets: { auditMaxEntries: 5 } })
    const first = await store.load()
    t.equal(first.version, 0)
    t.same(first.maintenance, defaultMaintenance())
    t.same(first.flags, {})
    t.same(first.overrides, {})
    t.match(first.signingKey, /^[0-9a-f]{64}$/, '256-bit hex signing key')
    const again = await store.load()
    t.equal(again.version, 0)
    t.equal(again.signingKey, first.signingKey, 'the signing key is created once and kept')
    // load() needs the command link only; the subscriber (through Sentinel, a second discovery) may still be connecting.
    t.same(await healthWhenSettled(store), { ok: true, reason: null })
  })

  t.test('update bumps the version and the store, not the mutator, decides it', async (t) => {
    const store = await factory(t, { budgets: { auditMaxEntries: 5 } })
    const initial = await store.load()
    const one = await store.update((d) => { d.maintenance.enabled = true; d.maintenance.message = 'upgrading'; return d })
    t.equal(one.version, 1)
    t.equal(one.maintenance.enabled, true)
    t.equal(one.signingKey, initial.signingKey)
    const two = await store.update((d) => ({ ...d, version: 999 }))
    t.equal(two.version, 2, 'a version set by the mutator is ignored')
    const loaded = await store.load()
    t.equal(loaded.version, 2)
    t.equal(loaded.maintenance.message, 'upgrading')
  })

  t.test('concurrent updates all land', async (t) => {
    const store = await factory(t, { budgets: { auditMaxEntries: 5 } })
    const start = await store.load()
    await Promise.all(Array.from({ length: 20 }, () => store.update(async (d) => {
      const seen = d.maintenance.retryAfter ?? 0
      // Yield inside the read-modify-write, where a lost update would happen.
      await tick()
      d.maintenance.retryAfter = seen + 1
      return d
    })))
    const end = await store.load()
    t.equal(end.maintenance.retryAfter, 20, 'every increment applied')
    t.equal(end.version, start.version + 20)
  })

  t.test('a throwing mutator leaves the state unchanged', async (t) => {
    const store = await factory(t, { budgets: { auditMaxEntries: 5 } })
    await store.update((d) => { d.maintenance.message = 'kept'; return d })
    const seen: SharedState[] = []
    t.teardown(store.subscribe((s) => { seen.push(s) }))
    await t.rejects(store.update((d) => {
      // Scribbling on the draft before failing must not leak into the state.
      d.maintenance.message = 'lost'
      d.flags.x = { key: 'x' } as never
      throw new Error('validation failed')
    }), { message: 'validation failed' })
    const after = await store.load()
    t.equal(after.version, 1)
    t.equal(after.maintenance.message, 'kept')
    t.same(after.flags, {})
    t.same(seen, [], 'nothing published')
    const next = await store.update((d) => d)
    t.equal(next.version, 2, 'the store still accepts writes')
  })

  t.test('subscribers get the store\'s own writes', async (t) => {
    const store = await factory(t, { budgets: { auditMaxEntries: 5 } })
    await store.load()
    const seen: number[] = []
    const off = store.subscribe((s) => { seen.push(s.version) })
    const one = await store.update((d) => { d.maintenance.enabled = true; return d })
    t.same(seen, [1], 'told by the time update resolves')
    t.equal(one.version, 1)
    off()
    await store.update((d) => d)
    t.same(seen, [1], 'no calls after unsubscribing')
  })

  t.test('audit is newest first and bounded', async (t) => {
    const store = await factory(t, { budgets: { auditMaxEntries: 5 } })
    await store.load()
    t.same(await store.listAudit(10), [])
    for (let n = 1; n <= 7; n++) await store.appendAudit(auditEntry(n))
    const all = await store.listAudit(100)
    t.same(all.map((e) => e.id), ['id-7', 'id-6', 'id-5', 'id-4', 'id-3'], 'newest first, oldest dropped beyond the bound')
    t.same(all[0], auditEntry(7), 'entries round-trip intact')
    t.same((await store.listAudit(2)).map((e) => e.id), ['id-7', 'id-6'])
    t.same(await store.listAudit(0), [])
  })

  t.test('audit is bounded in bytes too: the oldest go first, the newest always stays', async (t) => {
    const store = await factory(t, { budgets: { auditMaxEntries: 100, auditMaxBytes: 65536 } })
    await store.load()
    const big = (n: number): AuditEntry => ({ ...auditEntry(n), after: 'x'.repeat(20_000) })
    for (let n = 1; n <= 6; n++) await store.appendAudit(big(n))
    t.same((await store.listAudit(100)).map((e) => e.id), ['id-6', 'id-5', 'id-4'], 'three 20 KB entries fit 64 KiB, a fourth would not')
    await store.appendAudit({ ...auditEntry(7), after: 'y'.repeat(70_000) })
    t.same((await store.listAudit(100)).map((e) => e.id), ['id-7'], 'an entry over the budget on its own is kept alone')
  })

  t.test('a write over the state budget is refused with 413 naming it, and changes nothing', async (t) => {
    const store = await factory(t, { budgets: { stateMaxBytes: 65536 } })
    await store.load()
    await store.update((d) => { d.maintenance.allow = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`); return d })
    const err = await store.update((d) => { d.maintenance.allow = Array.from({ length: 10_000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`); return d }).catch((e: unknown) => e)
    t.match(err, { code: 'DRAWBRIDGE_ERR_TOO_LARGE', statusCode: 413, message: /stateMaxBytes budget of 64\.0 KiB/ })
    const after = await store.load()
    t.equal(after.version, 1, 'nothing written')
    t.equal(after.maintenance.allow.length, 1000)
    const smaller = await store.update((d) => { d.maintenance.allow = d.maintenance.allow.slice(0, 10); return d })
    t.equal(smaller.maintenance.allow.length, 10, 'a write that stays within the budget passes')
  })

  t.test('a flag over its budget is refused; flags this write does not touch are not measured', async (t) => {
    const store = await factory(t, { budgets: { flagMaxBytes: 4096 } })
    await store.load()
    const at = '2026-01-01T00:00:00.000Z'
    await store.update((d) => { d.flags.small = flag('small', 'x'.repeat(3000), at); return d })
    const err = await store.update((d) => { d.flags.big = flag('big', 'x'.repeat(5000)); return d }).catch((e: unknown) => e)
    t.match(err, { code: 'DRAWBRIDGE_ERR_TOO_LARGE', message: /^flag big would be .*over the flagMaxBytes budget of 4\.0 KiB \(4096 bytes\)/ })
    t.notOk(Object.hasOwn((await store.load()).flags, 'big'))
    const other = await store.update((d) => { d.maintenance.message = 'unrelated'; return d })
    t.equal(other.maintenance.message, 'unrelated')
  })
}
