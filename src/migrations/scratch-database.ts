import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { databaseError, quoteIdent } from './migration-db.js'
import { connectionArgs, runTool } from './pg-tools.js'

/** Every scratch database's name starts so: an operator can tell them apart (and find a kept one). */
export const SCRATCH_PREFIX = 'drawbridge_rehearsal_'
/** pg_dump waits at most this long for a table lock on the live database, then fails instead of queueing. */
const DUMP_LOCK_WAIT_MS = 30_000
/** Tables per VACUUM statement when settling a copy. */
const VACUUM_BATCH = 100
/** SQLSTATE syntax_error: DROP DATABASE … WITH (FORCE) before PostgreSQL 13. */
const SYNTAX_ERROR = '42601'

export interface PgTools {
  pgDump: string
  pgRestore: string
}

/** Encoding and locale of the live database, so sorting and index builds behave on the copy as they do there. */
export interface DatabaseLocale { encoding: string, collate: string, ctype: string }

function literal (text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

function withDatabase (url: string, database: string): string {
  const u = new URL(url)
  u.pathname = `/${encodeURIComponent(database)}`
  return u.toString()
}

async function onServer<T> (serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, application_name: 'drawbridge-rehearsal', connectionTimeoutMillis: 5000 })
  client.on('error', () => {})
  try {
    await client.connect()
  } catch (err) {
    await client.end().catch(() => {})
    throw databaseError(err)
  }
  try {
    return await work(client)
  } finally {
    await client.end().catch(() => {})
  }
}

/** What the live database is made of: read-only, a catalog query. */
export async function localeOf (databaseUrl: string): Promise<DatabaseLocale | null> {
  return await onServer(databaseUrl, async (client) => {
    const { rows } = await client.query<DatabaseLocale>(
      'SELECT pg_encoding_to_char(encoding) AS encoding, datcollate AS collate, datctype AS ctype FROM pg_database WHERE datname = current_database()')
    return rows[0] ?? null
  })
}

/**
 * A database made for one rehearsal and dropped after it, on the live
 * database's server or on the rehearsal server (`serverUrl`: a connection to
 * any database there, used for CREATE and DROP DATABASE only). The live
 * database is only ever read, by pg_dump.
 */
export class ScratchDatabase {
  readonly url: string
  private dropped = false

  private constructor (private readonly serverUrl: string, readonly name: string) {
    this.url = withDatabase(serverUrl, name)
  }

  static newName (): string {
    return SCRATCH_PREFIX + randomBytes(6).toString('hex')
  }

  /**
   * CREATE DATABASE from template0 (a restore needs an empty one), with the
   * live database's encoding and locale when the server has them; `warn` is
   * told when it had to fall back to the server's defaults.
   */
  static async create (serverUrl: string, name: string, locale: DatabaseLocale | null, comment: string, warn: (msg: string) => void): Promise<ScratchDatabase> {
    const scratch = new ScratchDatabase(serverUrl, name)
    await onServer(serverUrl, async (client) => {
      const base = `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`
      try {
        await client.query(locale === null ? base : `${base} ENCODING ${literal(locale.encoding)} LC_COLLATE ${literal(locale.collate)} LC_CTYPE ${literal(locale.ctype)}`)
      } catch (err) {
        if (locale === null) throw err
        warn(`the rehearsal server cannot create a ${locale.encoding} database with locale ${locale.collate} (${(err as Error).message}); using its defaults, so sort orders may differ from live`)
        await client.query(base)
      }
      // Only a label for whoever finds it in \l: never a reason to fail (and leak the database just made).
      await client.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${literal(comment)}`).catch(() => {})
    }).catch((err: unknown) => { throw databaseError(err) })
    return scratch
  }

  /**
   * `pg_dump -Fc` of the live database piped into `pg_restore`: nothing is
   * written to the live database (pg_dump reads one consistent snapshot, and
   * takes ACCESS SHARE locks, which block no reads or writes there, only DDL
   * for as long as the dump runs) and nothing lands on local disk.
   * Owners and grants are left out: the scratch server may not have the roles.
   */
  async fillFromLive (liveUrl: string, tools: PgTools, signal: AbortSignal): Promise<void> {
    const live = connectionArgs(liveUrl)
    const target = connectionArgs(this.url)
    const restore = runTool(tools.pgRestore, ['--no-owner', '--no-privileges', '--exit-on-error', '--no-password', `--dbname=${target.url}`], target.env, { stdin: 'pipe', stdout: 'ignore' }, signal)
    const dump = runTool(tools.pgDump, ['--format=custom', '--no-password', `--lock-wait-timeout=${DUMP_LOCK_WAIT_MS}`, `--dbname=${live.url}`], live.env, { stdin: 'ignore', stdout: 'pipe' }, signal)
    // pg_restore stopping early (an error) closes the pipe: pg_dump then fails too; report pg_restore's reason first.
    restore.child.stdin?.on('error', () => {})
    if (dump.child.stdout !== null && restore.child.stdin !== null) dump.child.stdout.pipe(restore.child.stdin)
    else dump.child.kill()
    const [dumped, restored] = await Promise.allSettled([dump.done, restore.done])
    const failed = [restored, dumped].find((r) => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason))
  }

  /** `pg_restore` of a `pg_dump -Fc` file (a run's backup). */
  async fillFromFile (file: string, tools: PgTools, signal: AbortSignal): Promise<void> {
    const target = connectionArgs(this.url)
    await runTool(tools.pgRestore, ['--no-owner', '--no-privileges', '--exit-on-error', '--no-password', `--dbname=${target.url}`, file], target.env, { stdin: 'ignore', stdout: 'ignore' }, signal).done
  }

  /**
   * A restored database has no planner statistics and no hint bits or
   * visibility map: the first statement to scan a table would pay for
   * setting them, and plans would differ from live. VACUUM ANALYZE puts the
   * copy in the state of a database autovacuum keeps.
   */
  async settle (): Promise<void> {
    await onServer(this.url, async (client) => {
      // The application's tables only: the catalogs of a fresh copy need nothing, and vacuuming them costs more than a small database.
      const { rows } = await client.query<{ name: string }>(`SELECT format('%I.%I', n.nspname, c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`)
      for (let i = 0; i < rows.length; i += VACUUM_BATCH) {
        await client.query(`VACUUM (ANALYZE) ${rows.slice(i, i + VACUUM_BATCH).map((r) => r.name).join(', ')}`)
      }
    })
  }

  /** Drops it, disconnecting whoever is still connected (idempotent). */
  async drop (): Promise<void> {
    if (this.dropped) return
    await onServer(this.serverUrl, async (client) => {
      try {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(this.name)} WITH (FORCE)`)
      } catch (err) {
        if ((err as { code?: string }).code !== SYNTAX_ERROR) throw err
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [this.name])
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(this.name)}`)
      }
    })
    this.dropped = true
  }
}
