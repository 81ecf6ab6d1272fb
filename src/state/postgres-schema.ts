import type { ClientBase } from 'pg'

/**
 * The PostgreSQL store's own schema: its tables live in a schema of their own
 * (`drawbridge` unless configured), never in the application's, and are
 * created by numbered migrations run at start.
 *
 * - `state`: one row, the whole SharedState as JSON, with its version in a
 *   column of its own so a resync compares versions without reading the
 *   document. A trigger NOTIFYs `<schema>.changes` with the new version on
 *   every insert or update (sent at commit, so only committed writes are
 *   heard), whoever wrote it: a row fixed by hand in psql propagates too.
 * - `audit`: one row per entry, newest last by `seq`, with its size in bytes
 *   so trimming to the audit budgets never re-measures the log.
 * - `flag_usage`: when each flag last served each value (`flag\tvalue` →
 *   epoch ms), kept apart from the versioned document (see
 *   flags/usage-backend.ts), merged by keeping the newest time.
 */

export const DEFAULT_STATE_SCHEMA = 'drawbridge'

export function quoteIdent (name: string): string {
  return '"' + name.replace(/"/g, '""') + '"'
}

/** The LISTEN/NOTIFY channel of a schema's state table (what the trigger computes from TG_TABLE_SCHEMA). */
export function changesChannel (schema: string): string {
  return `${schema}.changes`
}

/**
 * Each migration runs once, in its own transaction, recorded in
 * `<schema>.schema_migrations`. Documents are `json`, not `jsonb`: stored as
 * written (no re-encoding of a 16 MB state on every write), and an escaped
 * `\u0000` in some string, which jsonb refuses, cannot make a write fail.
 */
const MIGRATIONS: ReadonlyArray<(s: string) => string> = [
  (s) => `
    CREATE TABLE ${s}.state (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      version bigint NOT NULL CHECK (version >= 0),
      document json NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE ${s}.audit (
      seq bigserial PRIMARY KEY,
      entry json NOT NULL,
      bytes integer NOT NULL
    );
    CREATE FUNCTION ${s}.notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify(TG_TABLE_SCHEMA || '.changes', NEW.version::text);
      RETURN NULL;
    END
    $$;
    CREATE TRIGGER state_changed AFTER INSERT OR UPDATE ON ${s}.state
      FOR EACH ROW EXECUTE FUNCTION ${s}.notify_change();
    CREATE TABLE ${s}.flag_usage (
      field text PRIMARY KEY,
      at bigint NOT NULL
    );
  `
]

export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * Brings the schema up to SCHEMA_VERSION. Idempotent, and safe with several
 * replicas starting at once: the work runs in one transaction under a
 * transaction-level advisory lock keyed by the schema name, so the second
 * replica waits, then finds nothing left to do. The schema is created only
 * when missing, so a role without CREATE on the database can use one an
 * administrator made for it. Answers the schema version found in the database
 * (higher than ours when a newer Drawbridge migrated it).
 */
export async function migrateSchema (client: ClientBase, schema: string): Promise<number> {
  const s = quoteIdent(schema)
  await client.query('BEGIN')
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('drawbridge state schema ' || $1, 0))", [schema])
    const { rows: found } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])
    if (found.length === 0) await client.query(`CREATE SCHEMA ${s}`)
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
    const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${s}.schema_migrations`)
    const current = rows[0]?.version ?? 0
    for (let version = current + 1; version <= SCHEMA_VERSION; version++) {
      await client.query((MIGRATIONS[version - 1] as (s: string) => string)(s))
      await client.query(`INSERT INTO ${s}.schema_migrations (version) VALUES ($1)`, [version])
    }
    await client.query('COMMIT')
    return Math.max(current, SCHEMA_VERSION)
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  }
}

/** The statements the store runs, for one schema. */
export function stateStatements (schema: string): Record<'readVersion' | 'readDocument' | 'compareAndSet' | 'putIfNewer' | 'auditPush' | 'auditList' | 'usageLoad' | 'usageMerge', string> {
  const s = quoteIdent(schema)
  return {
    readVersion: `SELECT version FROM ${s}.state`,
    readDocument: `SELECT version, document::text AS document FROM ${s}.state`,
    // $1 document, $2 its version, $3 the version it replaces.
    compareAndSet: `UPDATE ${s}.state SET document = $1::json, version = $2, updated_at = now() WHERE id AND version = $3`,
    // $1 document, $2 its version: written when there is no row or an older one.
    putIfNewer: `INSERT INTO ${s}.state (id, version, document) VALUES (true, $2, $1::json)
      ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, document = EXCLUDED.document, updated_at = now()
      WHERE ${s}.state.version < EXCLUDED.version`,
    // $1 entry, $2 its bytes, $3 most entries, $4 most bytes. One statement:
    // the new row is counted from the INSERT's RETURNING (the DELETE cannot see
    // it), the newest always stays, then the oldest go first.
    auditPush: `WITH added AS (
        INSERT INTO ${s}.audit (entry, bytes) VALUES ($1::json, $2) RETURNING seq, bytes
      ), ranked AS (
        SELECT seq, row_number() OVER w AS n, sum(bytes) OVER w AS total
        FROM (SELECT seq, bytes FROM added UNION ALL SELECT seq, bytes FROM ${s}.audit) everything
        WINDOW w AS (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING)
      )
      DELETE FROM ${s}.audit WHERE seq IN (SELECT seq FROM ranked WHERE n > 1 AND (n > $3 OR total > $4))`,
    auditList: `SELECT entry::text AS entry FROM ${s}.audit ORDER BY seq DESC LIMIT $1`,
    usageLoad: `SELECT field, at FROM ${s}.flag_usage`,
    // $1 fields, $2 their times (distinct fields): the newest time wins, whichever replica flushes first.
    usageMerge: `INSERT INTO ${s}.flag_usage (field, at) SELECT * FROM unnest($1::text[], $2::bigint[])
      ON CONFLICT (field) DO UPDATE SET at = greatest(${s}.flag_usage.at, EXCLUDED.at)`
  }
}
