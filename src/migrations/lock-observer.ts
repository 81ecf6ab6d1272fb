import { performance } from 'node:perf_hooks'
import pg from 'pg'

/**
 * Which table locks a migration's statements hold, and for how long, seen
 * from a second connection: pg_locks is polled every `intervalMs` while a
 * statement runs, and once more the moment it returns.
 *
 * What this measures exactly, and what it can miss:
 * - In a transaction, a table lock is held until COMMIT or ROLLBACK, so the
 *   poll right after each statement sees every lock the statement took; its
 *   release is the end of the migration's transaction, measured when the
 *   executor returns. Nothing is missed; the acquisition time is known to
 *   within one poll interval (the estimate errs long: it starts at the last
 *   poll that did not see the lock, or at the statement's start).
 * - Without a transaction (`-- drawbridge:no-transaction`) each statement
 *   releases its locks when it returns. A lock held for less than one poll
 *   interval can fall between two polls and not be seen at all (a quick
 *   `ALTER TABLE` in such a file); one that is seen has its duration known
 *   to within one interval.
 * - Only granted relation locks on tables, partitioned tables, views,
 *   materialized views and foreign tables outside the system schemas are
 *   reported: not row locks, not locks on indexes or sequences, not
 *   advisory locks, not locks on catalogs. A table created by the same
 *   uncommitted transaction is invisible to the observer and not reported
 *   (no other session can be blocked on it).
 * - Time spent waiting for a lock is not a hold: on a scratch database
 *   nothing else competes, so the rehearsal shows what the statement needs,
 *   not how long it would queue behind the live application's transactions.
 */

/** A lock as held: `from`/`to` in performance.now() milliseconds. */
export interface HeldLock {
  statement: number
  relation: string
  mode: string
  from: number
  to: number
}

interface OpenLock { statement: number, relation: string, mode: string, from: number }

/** Drawbridge's own bookkeeping, written by the executor between statements: never a migration's lock. */
const OWN_TABLES = ['drawbridge_migrations', 'drawbridge_migration_runs']

const LOCKS_SQL = `SELECT c.oid::regclass::text AS relation, l.mode
  FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
  WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted
    AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
    AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
    AND NOT (c.relname = ANY($2::text[]))`

export class LockObserver {
  private readonly open = new Map<string, OpenLock>()
  private held: HeldLock[] = []
  private current: { index: number, startedAt: number } | null = null
  private lastPollAt = 0
  private chain: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | null = null
  private stopped = false
  /** Why a poll failed (the observer's connection broke): the figures are then incomplete. */
  problem: string | null = null

  private constructor (private readonly client: pg.Client, private readonly pid: number, private readonly intervalMs: number) {}

  /** A connection of its own to the scratch database, watching backend `pid`. */
  static async connect (databaseUrl: string, pid: number, intervalMs: number, onError: (err: Error) => void): Promise<LockObserver> {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'drawbridge-rehearsal-locks', connectionTimeoutMillis: 5000 })
    client.on('error', onError)
    await client.connect()
    const observer = new LockObserver(client, pid, intervalMs)
    observer.schedule()
    return observer
  }

  private schedule (): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      // Only while a statement runs: between statements there is nothing to see.
      if (this.current !== null) void this.pollNow().catch((err: unknown) => { this.problem ??= (err as Error).message })
      this.schedule()
    }, this.intervalMs)
  }

  /** Polls once, after any poll in flight (polls never overlap). */
  private async pollNow (): Promise<void> {
    const next = this.chain.catch(() => {}).then(async () => { await this.poll() })
    this.chain = next
    await next
  }

  private async poll (): Promise<void> {
    const startedAt = performance.now()
    const previous = this.lastPollAt
    const { rows } = await this.client.query<{ relation: string, mode: string }>(LOCKS_SQL, [this.pid, OWN_TABLES])
    this.lastPollAt = startedAt
    const seen = new Set<string>()
    for (const row of rows) {
      const key = `${row.mode}\0${row.relation}`
      seen.add(key)
      if (this.open.has(key) || this.current === null) continue
      this.open.set(key, { statement: this.current.index, relation: row.relation, mode: row.mode, from: Math.max(this.current.startedAt, previous) })
    }
    for (const [key, lock] of this.open) if (!seen.has(key)) this.release(key, lock, startedAt)
  }

  private release (key: string, lock: OpenLock, at: number): void {
    this.open.delete(key)
    this.held.push({ ...lock, to: Math.max(at, lock.from) })
  }

  private releaseAll (at: number): void {
    for (const [key, lock] of this.open) this.release(key, lock, at)
  }

  statementStarted (index: number): void {
    this.current = { index, startedAt: performance.now() }
  }

  /**
   * The statement returned (or failed): a last look at its locks. Without a
   * transaction they were released as it returned.
   */
  async statementEnded (autocommit: boolean): Promise<void> {
    const endedAt = performance.now()
    try {
      await this.pollNow()
    } catch (err) {
      this.problem ??= (err as Error).message
    } finally {
      if (autocommit) this.releaseAll(endedAt)
      this.current = null
    }
  }

  /** The migration's transaction ended (committed or rolled back): every lock it held is released. */
  migrationEnded (): HeldLock[] {
    this.releaseAll(performance.now())
    const held = this.held
    this.held = []
    return held
  }

  /** Cancels what the watched backend is running (shutdown). */
  async cancelWatched (): Promise<void> {
    await this.client.query('SELECT pg_cancel_backend($1)', [this.pid])
  }

  async close (): Promise<void> {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
    await this.chain.catch(() => {})
    await this.client.end().catch(() => {})
  }
}

/** A table's file node by oid, as the migration's own connection sees it (inside its transaction). */
export type FileNodes = Map<string, { name: string, node: string }>

const FILE_NODES_SQL = `SELECT c.oid::text AS oid, c.relfilenode::text AS node, c.oid::regclass::text AS name
  FROM pg_class c
  WHERE c.relkind IN ('r', 'm') AND c.relfilenode <> 0
    AND c.relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'pg_toast'::regnamespace)`

/** Null when it cannot be read (the transaction is aborted after a failed statement). */
export async function fileNodes (client: pg.Client): Promise<FileNodes | null> {
  try {
    const { rows } = await client.query<{ oid: string, node: string, name: string }>(FILE_NODES_SQL)
    return new Map(rows.map((r) => [r.oid, { name: r.name, node: r.node }]))
  } catch {
    return null
  }
}

/** Tables present before and after whose file node changed: a rewrite (ALTER TYPE, SET LOGGED, VACUUM FULL, CLUSTER, TRUNCATE). */
export function rewrittenTables (before: FileNodes | null, after: FileNodes | null): string[] {
  if (before === null || after === null) return []
  const out: string[] = []
  for (const [oid, now] of after) {
    const then = before.get(oid)
    if (then !== undefined && then.node !== now.node) out.push(now.name)
  }
  return out.sort()
}
