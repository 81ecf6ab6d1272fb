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

import { createDatabase, type TestDatabase } from '../helpers/postgres.js'

export { createDatabase, SERVER_URL, urlFor, type TestDatabase } from '../helpers/postgres.js'

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
