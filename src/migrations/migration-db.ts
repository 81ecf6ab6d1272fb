import pg from 'pg'
import { errors } from '../errors.js'

/**
 * Advisory lock keys, two int4s: "DRAW" and a purpose. Advisory locks are per
 * database, so one key serves every app database the fleet migrates.
 */
export const LOCK_CLASS = 0x44524157
export const RUN_LOCK = 1
const SETUP_LOCK = 2

export interface AppliedRow {
  name: string
  checksum: string
  appliedAt: string
  durationMs: number
  appliedBy: string
  runId: string | null
}

/** The connection was refused, timed out, or authentication failed: answer 503 with pg's reason. */
export function databaseError (err: unknown): Error {
  if ((err as { code?: string }).code === 'DRAWBRIDGE_ERR_DATABASE') return err as Error
  const message = (err as Error).message ?? String(err)
  return new errors.DRAWBRIDGE_ERR_DATABASE(message === '' ? (err as { code?: string }).code ?? 'unreachable' : message)
}

/** The backend pid of a connection, so its statement can be cancelled from another. */
export async function backendPid (client: pg.Client): Promise<number | null> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  return rows[0]?.pid ?? null
}

/**
 * The connection a run's migrations execute on: its own, with the run's
 * lock_timeout and statement_timeout at session level (it runs only these
 * migrations). A rehearsal connects to its scratch database the same way.
 */
export async function connectMigrationClient (databaseUrl: string, timeouts: { lockTimeoutMs: number, statementTimeoutMs: number }, onError: (err: Error) => void): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'drawbridge-migration', connectionTimeoutMillis: 5000 })
  client.on('error', onError)
  try {
    await client.connect()
    await client.query('SELECT set_config(\'lock_timeout\', $1, false), set_config(\'statement_timeout\', $2, false)',
      [`${timeouts.lockTimeoutMs}ms`, `${timeouts.statementTimeoutMs}ms`])
    return client
  } catch (err) {
    await client.end().catch(() => {})
    throw databaseError(err)
  }
}

/** Records an applied migration on the connection that applied it (inside its transaction, when it has one). */
export async function recordApplied (client: pg.Client, trackingTable: string, row: { name: string, checksum: string, durationMs: number, actor: string, runId: string }): Promise<void> {
  await client.query(`INSERT INTO ${trackingTable} (name, checksum, applied_at, duration_ms, applied_by, run_id) VALUES ($1, $2, clock_timestamp(), $3, $4, $5)`,
    [row.name, row.checksum, row.durationMs, row.actor, row.runId])
}

export function quoteIdent (name: string): string {
  return '"' + name.replace(/"/g, '""') + '"'
}

export function timestamp (value: unknown): string {
  return value instanceof Date ? value.toISOString() : String(value)
}

/**
 * Bookkeeping connections (tracking and runs tables) for one application
 * database. Migrations themselves never run on this pool: each run gets its
 * own client, and the run lock its own dedicated one.
 */
export class MigrationDb {
  readonly pool: pg.Pool
  private tablesReady: Promise<string> | null = null

  constructor (readonly databaseUrl: string, connectTimeoutMs = 5000) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 4,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: connectTimeoutMs,
      application_name: 'drawbridge'
    })
    // An idle client losing its server must not crash the process; the next query reports it.
    this.pool.on('error', () => {})
  }

  /** Checked before anything starts, so a run never half-starts against a dead database. */
  async check (): Promise<void> {
    try {
      await this.pool.query('SELECT 1')
    } catch (err) {
      throw databaseError(err)
    }
  }

  /**
   * Creates the tracking and runs tables on first use and returns their
   * schema-qualified prefix. The schema is pinned at creation, so a migration
   * that changes search_path cannot make us record into another schema.
   * Serialised by a transaction-level advisory lock, because two gateways
   * starting together would otherwise race on CREATE TABLE IF NOT EXISTS.
   */
  ensureTables (): Promise<string> {
    this.tablesReady ??= this.createTables().catch((err: unknown) => {
      this.tablesReady = null
      throw databaseError(err)
    })
    return this.tablesReady
  }

  private async createTables (): Promise<string> {
    const client = await this.pool.connect()
    try {
      await client.query('BEGIN')
      await client.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [LOCK_CLASS, SETUP_LOCK])
      const { rows } = await client.query<{ schema: string }>('SELECT current_schema() AS schema')
      const schema = rows[0]?.schema
      if (schema === undefined || schema === null) throw new Error('no current schema (check search_path)')
      const s = quoteIdent(schema)
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.drawbridge_migrations (
        name text PRIMARY KEY,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now(),
        duration_ms integer NOT NULL,
        applied_by text NOT NULL,
        run_id text
      )`)
      await client.query(`CREATE TABLE IF NOT EXISTS ${s}.drawbridge_migration_runs (
        id text PRIMARY KEY,
        status text NOT NULL,
        actor text NOT NULL,
        options jsonb NOT NULL,
        steps jsonb NOT NULL DEFAULT '[]',
        log jsonb NOT NULL DEFAULT '[]',
        findings jsonb NOT NULL DEFAULT '[]',
        error jsonb,
        backup_file text,
        backup_size bigint,
        lock_pid integer,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz,
        duration_ms integer
      )`)
      await client.query(`CREATE INDEX IF NOT EXISTS drawbridge_migration_runs_created_at ON ${s}.drawbridge_migration_runs (created_at DESC)`)
      await client.query('COMMIT')
      return s
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {})
      throw err
    } finally {
      client.release()
    }
  }

  async trackingTable (): Promise<string> { return `${await this.ensureTables()}.drawbridge_migrations` }
  async runsTable (): Promise<string> { return `${await this.ensureTables()}.drawbridge_migration_runs` }

  /**
   * The table if it exists, without creating it: reads (status, runs, a
   * rehearsal) never write to the application's database; only a run creates
   * the tables. Null before the first run.
   */
  async existingTable (table: 'drawbridge_migrations' | 'drawbridge_migration_runs'): Promise<string | null> {
    if (this.tablesReady !== null) return `${await this.tablesReady}.${table}`
    try {
      const { rows } = await this.pool.query<{ schema: string | null, found: boolean }>(
        'SELECT current_schema() AS schema, to_regclass(format(\'%I.%I\', current_schema(), $1::text)) IS NOT NULL AS found', [table])
      const row = rows[0]
      return row?.found === true && row.schema !== null ? `${quoteIdent(row.schema)}.${table}` : null
    } catch (err) {
      throw databaseError(err)
    }
  }

  async listApplied (): Promise<AppliedRow[]> {
    const table = await this.existingTable('drawbridge_migrations')
    if (table === null) return []
    try {
      const { rows } = await this.pool.query(`SELECT name, checksum, applied_at, duration_ms, applied_by, run_id FROM ${table} ORDER BY name`)
      return rows.map((r) => ({
        name: r.name,
        checksum: r.checksum,
        appliedAt: timestamp(r.applied_at),
        durationMs: r.duration_ms,
        appliedBy: r.applied_by,
        runId: r.run_id
      }))
    } catch (err) {
      throw databaseError(err)
    }
  }

  /** Whether the backend `pid` still holds the run lock (false once its connection is gone). */
  async runLockHeldBy (pid: number): Promise<boolean> {
    const { rows } = await this.pool.query(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1
         AND classid::bigint = $2 AND objid::bigint = $3 AND objsubid = 2
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS held`,
      [pid, LOCK_CLASS, RUN_LOCK])
    return rows[0]?.held === true
  }

  async runLockHeld (): Promise<boolean> {
    const { rows } = await this.pool.query(
      `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 2
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS held`,
      [LOCK_CLASS, RUN_LOCK])
    return rows[0]?.held === true
  }

  /** Cancels the statement a backend is running (its transaction rolls back). */
  async cancelBackend (pid: number): Promise<void> {
    await this.pool.query('SELECT pg_cancel_backend($1)', [pid])
  }

  async close (): Promise<void> {
    await this.pool.end()
  }
}
