import pg from 'pg'
import { LOCK_CLASS, RUN_LOCK, databaseError } from './migration-db.js'

export interface RunLock {
  /** Backend pid holding the lock: a run whose pid no longer holds it died mid-way. */
  pid: number
  /** Set when the lock connection broke: the lock is gone, another runner may start. */
  readonly lost: boolean
  release (): Promise<void>
}

/**
 * The fleet-wide run lock: a session-level advisory lock on a connection of
 * its own that does nothing else, outside any transaction.
 *
 * - pg_try_advisory_lock, never pg_advisory_lock: a second runner is told at
 *   once (409) instead of queueing, and a waiter could deadlock against our
 *   own CREATE INDEX CONCURRENTLY, which waits for every open transaction.
 * - Session level on a dedicated direct connection: held across the run's many
 *   transactions, and released by PostgreSQL itself when a crashed runner's
 *   connection goes away. (Through a transaction-pooling proxy the session
 *   would not be ours: point databaseUrl at PostgreSQL directly.)
 *
 * Resolves null when another session holds the lock.
 */
export async function tryRunLock (databaseUrl: string, onLost: (err: Error) => void): Promise<RunLock | null> {
  const client = new pg.Client({
    connectionString: databaseUrl,
    application_name: 'drawbridge-migration-lock',
    keepAlive: true,
    connectionTimeoutMillis: 5000
  })
  let lost = false
  let released = false
  client.on('error', (err) => {
    if (released) return
    lost = true
    onLost(err)
  })
  try {
    await client.connect()
    const { rows } = await client.query<{ ok: boolean, pid: number }>(
      'SELECT pg_try_advisory_lock($1::int, $2::int) AS ok, pg_backend_pid() AS pid', [LOCK_CLASS, RUN_LOCK])
    const row = rows[0]
    if (row?.ok !== true) {
      released = true
      await client.end()
      return null
    }
    return {
      pid: row.pid,
      get lost () { return lost },
      async release () {
        if (released) return
        released = true
        await client.query('SELECT pg_advisory_unlock($1::int, $2::int)', [LOCK_CLASS, RUN_LOCK]).catch(() => {})
        await client.end().catch(() => {})
      }
    }
  } catch (err) {
    released = true
    await client.end().catch(() => {})
    throw databaseError(err)
  }
}
