import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pg from 'pg'
import t, { type Test } from 'tap'
import { createLogger } from '../../src/logger.js'
import { createStore, stateCacheFor } from '../../src/state/create-store.js'
import { initialState } from '../../src/state/initial-state.js'
import { StateCache } from '../../src/state/state-cache.js'
import { StateHolder } from '../../src/state/state-holder.js'
import type { SharedState } from '../../src/state/types.js'
import { createDatabase, SERVER_URL, urlFor } from '../helpers/postgres.js'
import { eventually, silentLogger, testConfig, waitForState } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'drawbridge-state-cache-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
let files = 0
const cachePath = (): string => join(dir, `cache-${++files}.json`)

function capture (): { logger: ReturnType<typeof createLogger>, lines: () => Array<Record<string, unknown>> } {
  const out: string[] = []
  const logger = createLogger('info', new Writable({ write (chunk: Buffer, _enc, done) { out.push(chunk.toString()); done() } }))
  return { logger, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) }
}

function stateWith (version: number, message: string): SharedState {
  const base = initialState()
  return { ...base, version, maintenance: { ...base.maintenance, enabled: true, message } }
}

t.test('written atomically, mode 0600, the newest of a burst; read back as it was', async (t) => {
  const path = cachePath()
  const cache = new StateCache(path, silentLogger)
  t.equal(cache.atStart(), null, 'no file yet: nothing cached, nothing logged')
  for (let v = 1; v <= 5; v++) cache.save(stateWith(v, `m${v}`))
  await cache.flush()
  t.equal(statSync(path).mode & 0o777, 0o600, 'holds the signing key and secret: owner only')
  const written = JSON.parse(readFileSync(path, 'utf8')) as { drawbridgeStateCache: number, savedAt: string, state: SharedState }
  t.equal(written.drawbridgeStateCache, 1)
  t.equal(written.state.version, 5, 'a burst is written once, with its newest state')
  const again = new StateCache(path, silentLogger).atStart()
  t.same(again?.state, written.state)
  t.equal(again?.savedAt, written.savedAt)
})

t.test('a corrupt, foreign or invalid cache is logged and ignored, never thrown', async (t) => {
  const good = stateWith(3, 'ok')
  const cases: Array<[string, string, RegExp]> = [
    ['truncated', '{"drawbridgeStateCache":1,"savedAt":"2026-', /JSON/],
    ['another file', '{"hello":"world"}', /not a drawbridge state cache/],
    ['no time', JSON.stringify({ drawbridgeStateCache: 1, savedAt: 'yesterday', state: good }), /savedAt is not a time/],
    ['bad shape', JSON.stringify({ drawbridgeStateCache: 1, savedAt: new Date().toISOString(), state: { ...good, maintenance: [] } }), /state\.maintenance is not an object/],
    ['fails the state schema', JSON.stringify({ drawbridgeStateCache: 1, savedAt: new Date().toISOString(), state: { ...good, maintenance: { ...good.maintenance, redirect: 'https://x/\r\nSet-Cookie: a=b' } } }), /state\.maintenance\.redirect/]
  ]
  for (const [what, text, problem] of cases) {
    const path = cachePath()
    writeFileSync(path, text)
    const { logger, lines } = capture()
    t.equal(new StateCache(path, logger).atStart(), null, what)
    t.match(lines(), [{ level: 50, msg: /state cache is corrupt; ignoring it/, problem }], `${what}: logged with the problem`)
  }
})

t.test('a write that fails is logged once per reason and never thrown', async (t) => {
  // The directory vanishes after start (the constructor checks it), and a file takes its place: refused even to root.
  const sub = mkdtempSync(join(dir, 'gone-'))
  const { logger, lines } = capture()
  const cache = new StateCache(join(sub, 'cache.json'), logger)
  rmSync(sub, { recursive: true })
  writeFileSync(sub, 'x')
  cache.save(stateWith(1, 'a'))
  await cache.flush()
  cache.save(stateWith(2, 'b'))
  await cache.flush()
  t.match(lines(), [{ level: 40, msg: /state cache not written/, code: 'ENOTDIR' }], 'one line for two failures')
  t.equal(lines().length, 1)
})

t.test('a cache in a directory that does not exist is a bad setting (exit 2 at start)', async (t) => {
  t.throws(() => stateCacheFor(testConfig({ stateCache: '/nonexistent/cache.json', redisUrl: 'redis://127.0.0.1:6379' }), silentLogger),
    { name: 'ConfigError', setting: 'stateCache', message: 'stateCache: directory /nonexistent of /nonexistent/cache.json does not exist' })
})

t.test('the embedded store has no cache (its state file is its last state); the shared stores do', async (t) => {
  const { logger, lines } = capture()
  t.equal(stateCacheFor(testConfig({ stateCache: join(dir, 'x.json') }), logger), null)
  t.match(lines(), [{ msg: /stateCache is unused with the embedded store/ }])
  t.type(stateCacheFor(testConfig({ stateCache: join(dir, 'x.json'), stateUrl: 'postgres://db/app' }), logger), StateCache)
  t.type(stateCacheFor(testConfig({ stateCache: join(dir, 'x.json'), redisUrl: 'redis://127.0.0.1:6379' }), logger), StateCache)
})

/** Opens or closes a database to connections, so a store is unreachable while the test prepares what it holds. */
async function allowConnections (name: string, allow: boolean): Promise<void> {
  const admin = new pg.Client({ connectionString: SERVER_URL })
  await admin.connect()
  await admin.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${String(allow)}`)
  if (!allow) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name])
  await admin.end()
}

async function cachedHolder (t: Test, url: string, path: string): Promise<StateHolder> {
  const config = testConfig({ stateUrl: url, stateCache: path, resyncIntervalMs: 200 })
  const cache = stateCacheFor(config, silentLogger)
  const store = createStore(config, silentLogger, undefined, cache)
  const holder = new StateHolder(store, silentLogger, 100, cache)
  t.teardown(async () => { holder.stop(); await store.close() })
  await holder.start()
  return holder
}

t.test('started while the store is unreachable: the cached state serves and /readyz says so; then the store\'s state wins, even an older one', async (t) => {
  const db = await createDatabase(t, 'drawbridge_cache_')
  // What the store holds: version 3, written by someone else.
  const writer = createStore(testConfig({ stateUrl: db.url }), silentLogger)
  await writer.load()
  for (let i = 0; i < 3; i++) await writer.update((d) => { d.maintenance.enabled = true; d.maintenance.message = 'from the store'; return d })
  await writer.close()
  await allowConnections(db.name, false)

  const path = cachePath()
  const cached = stateWith(12, 'from the cache')
  const seedCache = new StateCache(path, silentLogger)
  seedCache.save(cached)
  await seedCache.flush()

  const holder = await cachedHolder(t, db.url, path)
  t.match(holder.current, { version: 12, maintenance: { enabled: true, message: 'from the cache' } }, 'the cached state serves, not the fail policy')
  const reason = holder.health().reason ?? ''
  t.match(reason, /^serving the cached state of \d{4}-\d\d-\d\dT[\d:.]+Z \(version 12\) until the store answers: State store unavailable: postgres error: database "drawbridge_cache_\w+" is not currently accepting connections$/)
  t.comment(`/readyz reason: ${reason}`)

  await allowConnections(db.name, true)
  const served = await waitForState(holder, (s) => s.maintenance.message === 'from the store', 5000)
  t.equal(served.version, 3, 'the store wins over a newer cached version')
  await eventually(() => holder.health().ok, 3000, 'ready once the store answered')
  await holder.cacheWritten()
  await eventually(() => (JSON.parse(readFileSync(path, 'utf8')) as { state: SharedState }).state.version === 3, 2000, 'cache rewritten')
  t.pass('the cache now holds the store\'s state')
})

t.test('a store that holds nothing yet gets the cached state; nothing known at all means the fail policy', async (t) => {
  const db = await createDatabase(t, 'drawbridge_cache_')
  const path = cachePath()
  const seedCache = new StateCache(path, silentLogger)
  seedCache.save(stateWith(7, 'restore me'))
  await seedCache.flush()
  const holder = await cachedHolder(t, db.url, path)
  await eventually(() => holder.health().ok, 3000, 'loaded from the store')
  t.match(holder.current, { version: 7, maintenance: { message: 'restore me' } })
  const [row] = await db.query<{ version: string }>('SELECT version FROM drawbridge.state')
  t.equal(row?.version, '7', 'the empty store was given the cached state')

  const nothing = await cachedHolder(t, urlFor('drawbridge_cache_missing_db'), join(dir, 'never-written.json'))
  t.equal(nothing.current, null, 'no state at all: the gateway follows failPolicy')
  t.match(nothing.health(), { ok: false, reason: /^state not loaded: State store unavailable: postgres error: database "drawbridge_cache_missing_db" does not exist/ })
})
