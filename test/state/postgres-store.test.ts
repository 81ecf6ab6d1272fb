import { Writable } from 'node:stream'
import pg from 'pg'
import t, { type Test } from 'tap'
import type { StoreBudgets } from '../../src/state/budgets.js'
import { createLogger } from '../../src/logger.js'
import { createStore } from '../../src/state/create-store.js'
import { initialState } from '../../src/state/initial-state.js'
import { PostgresStore } from '../../src/state/postgres-store.js'
import { PostgresUsage } from '../../src/state/postgres-usage.js'
import { createUsageBackend } from '../../src/flags/usage-backend.js'
import { StateHolder } from '../../src/state/state-holder.js'
import type { SharedState } from '../../src/state/types.js'
import { createDatabase, type TestDatabase } from '../helpers/postgres.js'
import { eventually, freePort, silentLogger, testConfig, waitForState } from './helpers.js'
import { replicaContract } from './replica-contract.js'
import { storeContract } from './store-contract.js'

// One database for this file, a schema per test: the store's own tables live in a schema of their own.
let db: TestDatabase
let schemas = 0
const nextSchema = (label: string): string => `${label}_${++schemas}`

t.before(async () => { db = await createDatabase(t, 'drawbridge_pgstore_') })

function openStore (t: Test, schema: string, extra: { budgets?: Partial<StoreBudgets>, seed?: SharedState, url?: string, logger?: typeof silentLogger } = {}): PostgresStore {
  const store = new PostgresStore({
    logger: extra.logger ?? silentLogger,
    url: extra.url ?? db.url,
    schema,
    resyncIntervalMs: 200,
    budgets: extra.budgets,
    seed: extra.seed
  })
  t.teardown(() => store.close())
  return store
}

async function replica (t: Test, schema: string): Promise<{ store: PostgresStore, holder: StateHolder }> {
  const store = openStore(t, schema)
  const holder = new StateHolder(store, silentLogger, 100)
  t.teardown(() => { holder.stop() })
  await holder.start()
  return { store, holder }
}

storeContract(t, async (t, { budgets }) => openStore(t, nextSchema('contract'), { budgets }))

t.test('createStore picks PostgreSQL for a stateUrl: the tables live in the configured schema, migrated once', async (t) => {
  const store = createStore(testConfig({ stateUrl: db.url, stateSchema: 'gate_one' }), silentLogger)
  t.teardown(() => store.close())
  t.ok(store instanceof PostgresStore)
  const state = await store.load()
  const tables = await db.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'gate_one' ORDER BY 1")
  t.same(tables.map((r) => r.table_name), ['audit', 'flag_usage', 'schema_migrations', 'state'])
  const [row] = await db.query<{ version: string, key: string }>("SELECT version, document->>'signingKey' AS key FROM gate_one.state")
  t.same(row, { version: '0', key: state.signingKey }, 'the document and its version column')
  t.same(await db.query('SELECT version FROM gate_one.schema_migrations'), [{ version: 1 }])
  const publicTables = await db.query("SELECT 1 FROM information_schema.tables WHERE table_schema = 'public'")
  t.same(publicTables, [], 'nothing is written outside the schema')
})

t.test('replicas starting at once on a fresh schema: the migrations run once, under the advisory lock', async (t) => {
  const schema = nextSchema('race')
  const stores = Array.from({ length: 5 }, () => openStore(t, schema))
  const loaded = await Promise.all(stores.map((s) => s.load()))
  t.equal(new Set(loaded.map((s) => s.signingKey)).size, 1, 'one document, one signing key')
  t.same(await db.query(`SELECT version FROM ${schema}.schema_migrations`), [{ version: 1 }])
})

replicaContract(t, 'PostgreSQL', (t, name) => openStore(t, name))

t.test('a row written by hand propagates; one whose NOTIFY was lost is healed by the resync', async (t) => {
  const schema = nextSchema('resync')
  const a = await replica(t, schema)
  const current = a.holder.current as SharedState
  const write = async (state: SharedState, notify: boolean): Promise<void> => {
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    // As superuser, `replica` skips the trigger: the write is never announced.
    if (!notify) await client.query('SET session_replication_role = replica')
    await client.query(`UPDATE ${schema}.state SET document = $1, version = $2`, [JSON.stringify(state), state.version])
    await client.end()
  }
  let started = performance.now()
  await write({ ...current, version: current.version + 1, maintenance: { ...current.maintenance, message: 'by hand' } }, true)
  await waitForState(a.holder, (s) => s.maintenance.message === 'by hand', 150)
  t.comment(`hand-written row seen after ${(performance.now() - started).toFixed(0)} ms (by NOTIFY: within 150 ms, under the 200 ms resync)`)

  started = performance.now()
  await write({ ...current, version: current.version + 5, maintenance: { ...current.maintenance, message: 'missed' } }, false)
  await waitForState(a.holder, (s) => s.maintenance.message === 'missed', 2000)
  t.comment(`unannounced row caught up by resync in ${(performance.now() - started).toFixed(0)} ms (interval 200 ms)`)
  t.equal(a.holder.current?.version, current.version + 5)
})

t.test('a bad row never crashes: the last good state serves, /readyz says why, writes are refused until it is fixed', async (t) => {
  const schema = nextSchema('bad_row')
  const a = await replica(t, schema)
  const good = await a.store.update((d) => { d.maintenance.enabled = true; d.maintenance.message = 'good'; return d })
  await db.query(`UPDATE ${schema}.state SET document = '{"version": 9, "maintenance": []}', version = 9`)
  await eventually(() => !a.store.health().ok, 2000, 'problem reported')
  t.match(a.holder.health(), { ok: false, reason: `postgres table ${schema}.state does not hold a valid state (state.maintenance is not an object)` })
  t.equal(a.holder.current?.version, good.version, 'the last good state keeps serving')
  await t.rejects(a.store.update((d) => d), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE', message: /does not hold a valid state/ })

  // A document that parses but fails the state schema: the holder refuses it.
  const wrong = { ...good, version: 10, maintenance: { ...good.maintenance, enabled: 'yes' } }
  await db.query(`UPDATE ${schema}.state SET document = $1, version = 10`, [JSON.stringify(wrong)])
  await eventually(() => /state version 10 refused: state\.maintenance\.enabled/.test(a.holder.health().reason ?? ''), 2000, 'refusal reported')
  t.equal(a.holder.current?.maintenance.message, 'good')

  // A version column that disagrees with the document is a bad row too.
  await db.query(`UPDATE ${schema}.state SET document = $1, version = 12`, [JSON.stringify({ ...good, version: 11 })])
  await eventually(() => /version beside it is 12, the document's own is 11/.test(a.store.health().reason ?? ''), 2000, 'mismatch reported')

  await db.query(`UPDATE ${schema}.state SET document = $1, version = 13`, [JSON.stringify({ ...good, version: 13, maintenance: { ...good.maintenance, message: 'fixed' } })])
  await waitForState(a.holder, (s) => s.maintenance.message === 'fixed', 2000)
  await eventually(() => a.holder.health().ok, 2000, 'healthy again')
  t.pass('a fixed row is served again')
})

t.test('an emptied table gets the newest state back; an empty one at start gets the seed (the cached state), a full one ignores it', async (t) => {
  const schema = nextSchema('restore')
  const a = await replica(t, schema)
  const written = await a.store.update((d) => { d.maintenance.message = 'keep me'; return d })
  await db.query(`DELETE FROM ${schema}.state`)
  await eventually(async () => (await db.query(`SELECT 1 FROM ${schema}.state WHERE version = $1`, [written.version])).length === 1, 2000, 'restored')

  const seed: SharedState = { ...initialState(), version: 41, maintenance: { ...initialState().maintenance, enabled: true, message: 'cached' } }
  const seeded = await openStore(t, nextSchema('seeded'), { seed }).load()
  t.match(seeded, { version: 41, maintenance: { message: 'cached' } }, 'an empty store takes the seed')
  const kept = await openStore(t, schema, { seed }).load()
  t.match(kept, { version: written.version, maintenance: { message: 'keep me' } }, 'a store with a state keeps it')
})

t.test('connections killed (pg_terminate_backend): the last state keeps serving, the replicas reconnect, LISTEN again and catch up', async (t) => {
  const schema = nextSchema('terminate')
  const a = await replica(t, schema)
  const b = await replica(t, schema)
  await eventually(() => a.store.health().ok && b.store.health().ok, 2000, 'both listening')
  const before = await a.store.update((d) => { d.maintenance.enabled = true; return d })
  await waitForState(b.holder, (s) => s.version === before.version)

  const killed = await db.query<{ n: string }>(`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
    WHERE datname = $1 AND pid <> pg_backend_pid() AND application_name LIKE 'drawbridge-state%'`, [db.name])
  const killedAt = performance.now()
  t.ok(Number(killed[0]?.n) >= 2, `${killed[0]?.n ?? 0} store connections terminated`)
  await eventually(() => !a.store.health().ok && !b.store.health().ok, 2000, 'loss reported')
  t.match(b.holder.health(), { ok: false, reason: /^postgres unreachable/ })
  t.equal(b.holder.current?.maintenance.enabled, true, 'the last state keeps serving')

  await eventually(() => a.store.health().ok && b.store.health().ok, 5000, 'both listening again')
  const recoveredMs = performance.now() - killedAt
  const after = await b.store.update((d) => { d.maintenance.enabled = false; return d })
  await waitForState(a.holder, (s) => s.version === after.version, 1000)
  t.comment(`after pg_terminate_backend: LISTEN re-established on both in ${recoveredMs.toFixed(0)} ms; a write then reached the other replica`)
})

t.test('flag usage is shared through the schema: the newest time wins, whichever replica flushes', async (t) => {
  const schema = nextSchema('usage')
  const a = new PostgresUsage(db.url, schema, silentLogger)
  const b = new PostgresUsage(db.url, schema, silentLogger)
  t.teardown(async () => { await a.close(); await b.close() })
  t.same(await a.load(), {})
  await a.save(new Map([['checkout\ton', 2000], ['checkout\toff', 1000]]))
  await b.save(new Map([['checkout\ton', 1500], ['search\ton', 3000]]))
  t.same({ ...await b.load() }, { 'checkout\ton': 2000, 'checkout\toff': 1000, 'search\ton': 3000 }, 'an older time never replaces a newer one')
  const many = new Map(Array.from({ length: 1200 }, (_, i) => [`f${i}\ton`, i] as [string, number]))
  await b.save(many)
  t.equal(Object.keys(await a.load()).length, 1203, 'saved in batches')
  t.ok(createUsageBackend(testConfig({ stateUrl: db.url }), silentLogger) instanceof PostgresUsage, 'the PostgreSQL store\'s replicas use it')
})

t.test('unreachable at start: load() fails fast with a 503 that never shows the password', async (t) => {
  const lines: string[] = []
  const logger = createLogger('debug', new Writable({ write (chunk: Buffer, _enc, done) { lines.push(chunk.toString()); done() } }))
  const url = `postgres://drawbridge:s3cret-Passw0rd@127.0.0.1:${await freePort()}/app`
  const store = openStore(t, 'unreachable', { url, logger })
  const started = performance.now()
  const err = await store.load().then(() => new Error('loaded'), (e: unknown) => e as Error)
  t.match(err, { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE', statusCode: 503, message: /postgres unreachable: ECONNREFUSED/ })
  t.ok(performance.now() - started < 2500, `rejected in ${(performance.now() - started).toFixed(0)} ms`)
  await t.rejects(store.update((d) => d), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' })
  t.same(store.health(), { ok: false, reason: 'postgres unreachable: ECONNREFUSED' })
  t.notOk([err.message, ...lines].join('\n').includes('s3cret-Passw0rd'), 'the password is nowhere')
  t.ok(lines.length > 0, 'the outage was logged')
})
