import type { Pool } from 'pg'
import type { Logger } from 'pino'
import { emptyDict, setOwn } from './dict.js'
import { migrateSchema, stateStatements } from './postgres-schema.js'
import { loadPg } from './postgres-store.js'

/** Pairs per statement: bounded so one flush never holds a long statement. */
const BATCH = 500

/**
 * Flag usage (flags/usage-backend.ts) in the PostgreSQL store's schema, so
 * that every replica sees when a flag last served a value. One connection,
 * opened on first use: a process that never evaluates a flag opens none.
 */
export class PostgresUsage {
  private pool: Pool | null = null
  private migrated: Promise<unknown> | null = null
  private readonly sql: ReturnType<typeof stateStatements>

  constructor (private readonly url: string, private readonly schema: string, private readonly logger: Logger) {
    this.sql = stateStatements(schema)
  }

  private async connection (): Promise<Pool> {
    if (this.pool === null) {
      this.pool = new (loadPg().Pool)({ connectionString: this.url, max: 1, connectionTimeoutMillis: 2000, query_timeout: 5000, application_name: 'drawbridge-flag-usage' })
      this.pool.on('error', (err) => { this.logger.debug({ err }, 'flag usage connection lost') })
    }
    const pool = this.pool
    // The table may be asked for before the store has migrated the schema; migrating is idempotent.
    this.migrated ??= pool.connect().then(async (client) => {
      try { await migrateSchema(client, this.schema) } finally { client.release() }
    })
    try {
      await this.migrated
    } catch (err) {
      this.migrated = null
      throw err
    }
    return pool
  }

  async load (): Promise<Record<string, number>> {
    const { rows } = await (await this.connection()).query<{ field: string, at: string }>(this.sql.usageLoad)
    const out = emptyDict<number>()
    for (const { field, at } of rows) setOwn(out, field, Number(at))
    return out
  }

  async save (entries: ReadonlyMap<string, number>): Promise<void> {
    if (entries.size === 0) return
    const pool = await this.connection()
    const all = [...entries]
    for (let i = 0; i < all.length; i += BATCH) {
      const batch = all.slice(i, i + BATCH)
      await pool.query(this.sql.usageMerge, [batch.map(([field]) => field), batch.map(([, at]) => at)])
    }
  }

  async close (): Promise<void> {
    const pool = this.pool
    this.pool = null
    await pool?.end().catch(() => {})
  }
}
