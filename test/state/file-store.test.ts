import type { StoreBudgets } from '../../src/state/budgets.js'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createStore } from '../../src/state/create-store.js'
import { MemoryStore } from '../../src/state/memory-store.js'
import { silentLogger, testConfig } from './helpers.js'
import { storeContract } from './store-contract.js'

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-state-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

function open (t: Test, file: string, budgets: Partial<StoreBudgets> = {}): MemoryStore {
  const store = new MemoryStore({ logger: silentLogger, stateFile: file, budgets })
  t.teardown(() => store.close())
  return store
}

storeContract(t, async (t, { budgets }) => open(t, join(tempDir(t), 'state.json'), budgets))

t.test('state, signing key and audit survive a restart', async (t) => {
  const file = join(tempDir(t), 'state.json')
  const first = open(t, file)
  const initial = await first.load()
  await first.update((d) => {
    d.maintenance.enabled = true
    d.maintenance.secret = 's3cret-value'
    d.flags['new-checkout'] = { key: 'new-checkout', description: null, enabled: true, rollout: { percentage: 25 }, variants: null, rules: null, gate: null, requires: null, createdAt: 'x', updatedAt: 'x' }
    return d
  })
  await first.appendAudit({ id: 'a1', at: '2026-01-01T00:00:00.000Z', actor: 'ops', action: 'maintenance.update', target: 'maintenance', before: { enabled: false }, after: { enabled: true } })
  await first.close()

  const second = open(t, file)
  const loaded = await second.load()
  t.equal(loaded.version, 1)
  t.equal(loaded.maintenance.enabled, true)
  t.equal(loaded.maintenance.secret, 's3cret-value')
  t.equal(loaded.flags['new-checkout']?.rollout?.percentage, 25)
  t.equal(loaded.signingKey, initial.signingKey, 'bypass cookies stay valid across restarts')
  t.same((await second.listAudit(10)).map((e) => e.id), ['a1'])
  const next = await second.update((d) => d)
  t.equal(next.version, 2, 'versions keep growing after a restart')
})

t.test('the signing key is persisted on first load, before any write', async (t) => {
  const file = join(tempDir(t), 'state.json')
  const first = open(t, file)
  const key = (await first.load()).signingKey
  await first.close()
  const second = open(t, file)
  t.equal((await second.load()).signingKey, key)
})

t.test('writes are atomic: readers only ever see a whole document; mode 0600; no temp files left', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'state.json')
  const store = open(t, file)
  await store.load()
  let reads = 0
  let torn = 0
  const writing = { on: true }
  // Read as fast as possible while 30 writes (each a bigger document) replace the file.
  const reader = (async () => {
    while (writing.on) {
      try {
        JSON.parse(readFileSync(file, 'utf8'))
        reads++
      } catch {
        torn++
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  await Promise.all(Array.from({ length: 30 }, (_, i) => store.update((d) => {
    d.maintenance.allow = [...d.maintenance.allow, ...Array.from({ length: 200 }, (_, j) => `10.${i}.${j % 256}.0/24`)]
    return d
  })))
  writing.on = false
  await reader
  t.equal(torn, 0, `no partial document in ${reads} reads`)
  t.ok(reads > 0)
  t.equal(statSync(file).mode & 0o777, 0o600, 'only the owner may read the signing key and secrets')
  t.same(readdirSync(dir).filter((f) => f !== 'state.json.lock'), ['state.json'], 'temporary files renamed or removed (the lock belongs to the open store)')
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { state: { version: number, maintenance: { allow: string[] } } }
  t.equal(saved.state.version, 30)
  t.equal(saved.state.maintenance.allow.length, 6000)
})

t.test('a corrupt state file is refused, never overwritten, and served around rather than exiting', async (t) => {
  // Exiting (the old ConfigError) made a supervisor restart the process into the same file forever.
  const dir = tempDir(t)
  const cases: Array<[string, string, RegExp]> = [
    ['truncated.json', '{"drawbridgeState":1,"state":{"version":3,', /is corrupt: .*JSON/],
    ['array.json', '[]', /is corrupt: not a drawbridge state file/],
    ['bad-shape.json', JSON.stringify({ drawbridgeState: 1, state: { version: -1 } }), /is corrupt: state.version/],
    ['no-key.json', JSON.stringify({ drawbridgeState: 1, state: { version: 1, maintenance: {}, flags: {}, overrides: {} } }), /is corrupt: state.signingKey/]
  ]
  for (const [name, content, problem] of cases) {
    const file = join(dir, name)
    writeFileSync(file, content)
    const store = open(t, file)
    const named = new RegExp(`state file ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is corrupt`)
    await t.rejects(store.load(), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE', message: named }, `${name}: load names the file`)
    await t.rejects(store.load(), { message: problem }, `${name}: says what is wrong`)
    await t.rejects(store.update((d) => d), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' }, `${name}: writes refused`)
    t.match(store.health(), { ok: false, reason: problem })
    t.equal(readFileSync(file, 'utf8'), content, `${name}: left untouched for the operator`)
  }
  // Through createStore, as the server builds it: no throw. A file of its own, since the stores above
  // still hold their files' locks (only one process, or store, may own a state file).
  const file = join(dir, 'truncated-again.json')
  writeFileSync(file, '{"drawbridgeState":1,"state":{"version":3,')
  const store = createStore(testConfig({ stateFile: file }), silentLogger)
  t.teardown(async () => { await store.close() })
  // The operator deletes the file: the next load starts from an empty state.
  rmSync(file)
  t.equal((await store.load()).version, 0)
  t.match(store.health(), { ok: true })
})

t.test('a state file in a missing directory is a ConfigError', async (t) => {
  const file = join(tempDir(t), 'nope', 'state.json')
  t.throws(() => new MemoryStore({ logger: silentLogger, stateFile: file }), { name: 'ConfigError', setting: 'stateFile', message: /directory .*nope.* does not exist/ })
})

t.test('a failed write is a 503 and changes nothing', async (t) => {
  const dir = tempDir(t)
  const file = join(dir, 'state.json')
  const store = open(t, file)
  await store.update((d) => { d.maintenance.message = 'saved'; return d })
  const seen: number[] = []
  t.teardown(store.subscribe((s) => { seen.push(s.version) }))
  // Removing the directory makes the temporary file impossible to create, even as root.
  rmSync(dir, { recursive: true, force: true })
  await t.rejects(store.update((d) => { d.maintenance.message = 'unsaved'; return d }), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE', statusCode: 503 })
  t.equal((await store.load()).maintenance.message, 'saved', 'memory keeps the committed state')
  t.same(seen, [], 'listeners not told of an uncommitted write')
  t.match(store.health(), { ok: false, reason: /state file not writable: ENOENT/ })
})
