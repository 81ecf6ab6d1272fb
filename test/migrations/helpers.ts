import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import type { Test } from 'tap'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import type { AppContext } from '../../src/context.js'
import { DrawbridgeEvents, type EventPayload } from '../../src/events.js'
import { createLogger } from '../../src/logger.js'
import { Metrics } from '../../src/metrics.js'
import { createAppliedMigrations } from '../../src/migrations/applied-migrations.js'
import { MigrationService, type MigrationServiceOptions } from '../../src/migrations/migration-service.js'
import { createStore } from '../../src/state/create-store.js'
import { StateHolder } from '../../src/state/state-holder.js'

export const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export function urlFor (database: string): string {
  const url = new URL(SERVER_URL)
  url.pathname = `/${database}`
  return url.toString()
}

export interface TestDatabase {
  name: string
  url: string
  /** A pool on the test database, for the test's own checks. */
  query: <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>
}

/** Creates an empty database, created and dropped per test file. */
export async function createDatabase (t: Test, prefix = 'drawbridge_test_'): Promise<TestDatabase> {
  const name = `${prefix}${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: SERVER_URL })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = urlFor(name)
  const pool = new pg.Pool({ connectionString: url, max: 3 })
  pool.on('error', () => {})
  t.teardown(async () => {
    await pool.end().catch(() => {})
    const c = new pg.Client({ connectionString: SERVER_URL })
    await c.connect()
    // FORCE: a test that failed half-way may still hold connections.
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await c.end()
  })
  return { name, url, query: async (sql, params) => (await pool.query(sql, params)).rows }
}

export async function tempDir (t: Test, prefix = 'drawbridge-mig-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

export async function writeMigrations (dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql)
}

export interface Harness {
  ctx: AppContext
  service: MigrationService
  db: TestDatabase
  dir: string
  backupDir: string
  events: EventPayload[]
}

/**
 * A MigrationService over a fresh database and migrations directory, with a
 * real embedded state store (maintenance, flags) and the real
 * appliedMigrations check that flags use for `requires`.
 */
export async function harness (t: Test, files: Record<string, string> = {}, options: Partial<MigrationServiceOptions> = {}): Promise<Harness> {
  const db = await createDatabase(t)
  const dir = await tempDir(t)
  const backupDir = join(await tempDir(t, 'drawbridge-bak-'), 'backups')
  await writeMigrations(dir, files)
  const config = { ...loadConfig(['--upstream', 'http://127.0.0.1:9'], {}), databaseUrl: db.url, migrationsDir: dir, backupDir } as Config
  const logger = createLogger('silent')
  const store = createStore(config, logger)
  const holder = new StateHolder(store, logger, 100)
  await holder.start()
  const applied = createAppliedMigrations(db.url, dir)
  const ctx: AppContext = { config, logger, store, holder, events: new DrawbridgeEvents(), metrics: new Metrics(), appliedMigrations: applied }
  const events: EventPayload[] = []
  ctx.events.onEvent((e) => { events.push(e) })
  const service = new MigrationService(ctx, { databaseUrl: db.url, migrationsDir: dir, backupDir, retryBackoffMs: 20, ...options })
  t.teardown(async () => {
    await service.close()
    await applied.close()
    holder.stop()
    await store.close()
  })
  return { ctx, service, db, dir, backupDir, events }
}

/** Starts a run and waits for its end. */
export async function runToEnd (h: Harness, body: Parameters<MigrationService['startRun']>[0] = {}, actor = 'test') {
  const { id } = await h.service.startRun(body, actor)
  const run = await h.service.waitForRun(id)
  if (run === null) throw new Error(`run ${id} vanished`)
  return run
}

export async function tableNames (db: TestDatabase): Promise<string[]> {
  const rows = await db.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name")
  return rows.map((r) => r.table_name)
}

export async function appliedNames (db: TestDatabase): Promise<string[]> {
  const rows = await db.query<{ name: string }>('SELECT name FROM drawbridge_migrations ORDER BY applied_at, name')
  return rows.map((r) => r.name)
}

/** A session of the test's own that holds a lock until released. */
export async function holdLock (t: Test, url: string, sql: string): Promise<{ release: () => Promise<void>, pid: number }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  client.on('error', () => {})
  await client.query('BEGIN')
  await client.query(sql)
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  let released = false
  const release = async (): Promise<void> => {
    if (released) return
    released = true
    await client.query('ROLLBACK').catch(() => {})
    await client.end().catch(() => {})
  }
  t.teardown(release)
  return { release, pid: rows[0]?.pid ?? 0 }
}
