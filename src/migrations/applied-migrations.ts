import pg from 'pg'
import type { AppliedMigrations } from '../context.js'
import { migrationName } from './migration-files.js'

/** SQLSTATE undefined_table: nothing was ever migrated here. */
const UNDEFINED_TABLE = '42P01'

/**
 * What flags ask before they may be enabled (`requires`): is this migration
 * recorded in drawbridge_migrations? Asked of the database every time, never
 * cached, because another replica may have just applied it. Rejects when the
 * database is unreachable, so the caller can answer 503 rather than guess.
 * `migrationsDir` is accepted for symmetry with the runner; names are matched
 * with or without their `.sql` suffix.
 */
export function createAppliedMigrations (databaseUrl: string, migrationsDir: string): AppliedMigrations & { close (): Promise<void> } {
  void migrationsDir
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, idleTimeoutMillis: 10_000, connectionTimeoutMillis: 5000, application_name: 'drawbridge-flags' })
  pool.on('error', () => {})
  return {
    async isApplied (name: string): Promise<boolean> {
      try {
        const { rows } = await pool.query('SELECT 1 FROM drawbridge_migrations WHERE name = $1', [migrationName(name)])
        return rows.length > 0
      } catch (err) {
        if ((err as { code?: string }).code === UNDEFINED_TABLE) return false
        throw err
      }
    },
    async close (): Promise<void> {
      await pool.end()
    }
  }
}
