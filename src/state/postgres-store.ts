import { createRequire } from 'node:module'
import type { Client, Pool } from 'pg'
import type { Logger } from 'pino'
import { errors, isDrawbridgeError } from '../errors.js'
import { maskCredentials } from '../input/mask-credentials.js'
import { DEFAULT_BUDGETS, type StoreBudgets } from './budgets.js'
import { reconnectDelay } from './redis-options.js'
import { changesChannel, DEFAULT_STATE_SCHEMA, migrateSchema, quoteIdent, SCHEMA_VERSION, stateStatements } from './postgres-schema.js'
import { SharedDocument, SharedDocumentStore, type DocumentBackend, type StoredDocument } from './shared-document.js'
import { decodeAuditLines } from './state-codec.js'
import type { AuditEntry, SharedState, StateStore, StoreHealth } from './types.js'

export interface PostgresStoreOptions {
  logger: Logger
  /** postgres:// URL; never logged nor repeated in a message. */
  url: string
  /** The schema holding the store's tables (DEFAULT_STATE_SCHEMA when absent). */
  schema?: string | undefined
  /** Periodic version check that heals missed notices, and liveness check of the LISTEN connection. */
  resyncIntervalMs: number
  budgets?: Partial<StoreBudgets> | undefined
  /** Put into an empty table before this process saw any state: the replica's cached state. */
  seed?: SharedState | null | undefined
  connectTimeoutMs?: number
  queryTimeoutMs?: number
}

/** Bounds that keep an admin request from hanging on a PostgreSQL that is away. */
const CONNECT_TIMEOUT_MS = 2000
/** Generous: writing a 16 MB document on a loaded server takes a while; a silent server must still not hold a request forever. */
const QUERY_TIMEOUT_MS = 5000

const require = createRequire(import.meta.url)

/** pg is CommonJS and loaded on first use: a gateway on another store never pays its memory. */
export function loadPg (): typeof import('pg') {
  return require('pg') as typeof import('pg')
}

/**
 * Why a PostgreSQL call failed, for /readyz and 503 answers: the errno of a
 * network failure, PostgreSQL's own message otherwise; credentials masked.
 */
export function postgresReason (err: unknown): string {
  const e = err as { code?: unknown, message?: unknown, severity?: unknown }
  const code = typeof e.code === 'string' ? e.code : ''
  const message = maskCredentials(typeof e.message === 'string' && e.message !== '' ? e.message : String(err))
  // No severity: not from the server (a refused or broken connection, a client-side timeout).
  if (e.severity === undefined) return `postgres unreachable: ${/^E[A-Z]+$/.test(code) ? code : message}`
  // Connection exceptions, and the server shutting down or starting up.
  if (code.startsWith('08') || code.startsWith('57P')) return `postgres unreachable: ${message}`
  return `postgres error: ${message}`
}

/**
 * The shared store in PostgreSQL, for teams that have a database and no
 * Redis. One row holds the document (postgres-schema.ts); writes are
 * compare-and-set on its version (shared-document.ts), a trigger NOTIFYs the
 * new version, and a dedicated connection LISTENs and fetches newer
 * documents for the listeners (the StateHolder). Nothing here is on the
 * request path.
 *
 * While PostgreSQL is away, calls fail within the connect timeout with
 * DRAWBRIDGE_ERR_STORE_UNAVAILABLE, listeners keep the last state, and the
 * LISTEN connection reconnects with backoff forever, then resyncs. A LISTEN
 * connection that stops answering (a silent network) is found by a ping every
 * resync interval and replaced.
 *
 * Connections: a pool of two for reads and writes, one for LISTEN. LISTEN
 * needs a session of its own: point the URL at PostgreSQL or a session-pooling
 * proxy, not at a transaction-pooling one.
 */
export class PostgresStore extends SharedDocumentStore implements StateStore {
  private readonly logger: Logger
  private readonly url: string
  private readonly schema: string
  private readonly channel: string
  private readonly sql: ReturnType<typeof stateStatements>
  private readonly budgets: StoreBudgets
  private readonly connectTimeoutMs: number
  private readonly queryTimeoutMs: number
  private readonly pool: Pool
  protected readonly doc: SharedDocument
  private listener: Client | null = null
  private listening = false
  /** Why the LISTEN connection is down; null while it is up or making its first attempt. */
  private listenDown: string | null = null
  private readonly firstListen: Promise<void>
  private firstListenDone: () => void = () => {}
  private reconnectAttempt = 0
  private reconnectTimer: NodeJS.Timeout | null = null
  private wasDown = false
  private schemaReady: Promise<void> | null = null
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor (options: PostgresStoreOptions) {
    super()
    this.logger = options.logger
    this.url = options.url
    this.schema = options.schema ?? DEFAULT_STATE_SCHEMA
    this.channel = changesChannel(this.schema)
    this.sql = stateStatements(this.schema)
    this.budgets = { ...DEFAULT_BUDGETS, ...options.budgets }
    this.connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS
    this.queryTimeoutMs = options.queryTimeoutMs ?? QUERY_TIMEOUT_MS
    this.pool = new (loadPg().Pool)({
      connectionString: this.url,
      max: 2,
      // Kept open: a write after a quiet hour should not pay a new connection.
      idleTimeoutMillis: 0,
      connectionTimeoutMillis: this.connectTimeoutMs,
      // On timeout pg fails the query and the pool drops its connection.
      query_timeout: this.queryTimeoutMs,
      keepAlive: true,
      application_name: 'drawbridge-state'
    })
    // An idle connection lost (server restart, pg_terminate_backend) is dropped by the pool; the next query opens another.
    this.pool.on('error', (err) => { this.logger.debug({ err }, 'postgres: an idle connection was lost') })
    this.doc = new SharedDocument({
      backend: this.backend(),
      logger: this.logger,
      budgets: this.budgets,
      access: (operation) => this.access(operation),
      connected: () => this.listening,
      seed: options.seed
    })
    this.firstListen = new Promise((resolve) => { this.firstListenDone = resolve })
    this.connectListener()
    this.timer = setInterval(() => { this.tick() }, options.resyncIntervalMs)
    this.timer.unref()
  }

  async appendAudit (entry: AuditEntry): Promise<void> {
    const json = JSON.stringify(entry)
    const { auditMaxEntries, auditMaxBytes } = this.budgets
    await this.access(() => this.pool.query(this.sql.auditPush, [json, Buffer.byteLength(json), auditMaxEntries, auditMaxBytes]))
  }

  async listAudit (limit: number): Promise<AuditEntry[]> {
    if (limit <= 0) return []
    const { rows } = await this.access(() => this.pool.query<{ entry: string }>(this.sql.auditList, [Math.min(limit, this.budgets.auditMaxEntries)]))
    return decodeAuditLines(rows.map((row) => row.entry))
  }

  health (): StoreHealth {
    if (this.closed) return { ok: false, reason: 'store closed' }
    const problem = this.doc.problem
    if (problem !== null) return { ok: false, reason: problem }
    if (this.listening) return { ok: true, reason: null }
    return { ok: false, reason: this.listenDown ?? 'postgres unreachable: connecting' }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.firstListenDone()
    await this.doc.close()
    const listener = this.listener
    this.listener = null
    this.listening = false
    await Promise.all([listener?.end().catch(() => {}), this.pool.end().catch(() => {})])
  }

  private backend (): DocumentBackend {
    const readDocument = async (): Promise<StoredDocument | null> => {
      const { rows } = await this.pool.query<{ version: string, document: string }>(this.sql.readDocument)
      const row = rows[0]
      return row === undefined ? null : { json: row.document, version: Number(row.version) }
    }
    return {
      where: `postgres table ${this.schema}.state`,
      readVersion: async () => {
        const { rows } = await this.pool.query<{ version: string }>(this.sql.readVersion)
        return rows[0] === undefined ? null : Number(rows[0].version)
      },
      readDocument,
      compareAndSet: async (expected, json, version) => {
        const { rowCount } = await this.pool.query(this.sql.compareAndSet, [json, version, expected])
        return rowCount === 1
      },
      putIfNewer: async (json, version) => {
        await this.pool.query(this.sql.putIfNewer, [json, version])
        // A separate read: the upsert's statement snapshot would not see a row another replica committed meanwhile.
        const stored = await readDocument()
        if (stored === null) throw new Error(`the ${this.schema}.state row vanished`)
        return stored
      }
    }
  }

  /** One store call: the schema brought up to date first (once), failures turned into a 503 the admin API can answer. */
  private async access<T> (operation: () => Promise<T>): Promise<T> {
    if (this.closed) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE('store closed')
    // At start, wait (bounded by the connect timeout) for LISTEN, so that a loaded store is a listening one.
    await this.firstListen
    try {
      await this.migrated()
      return await operation()
    } catch (err) {
      if (isDrawbridgeError(err)) throw err
      throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(postgresReason(err), { cause: err })
    }
  }

  /** Runs the schema migrations once per process; a failed attempt is retried by the next call. */
  private migrated (): Promise<void> {
    if (this.schemaReady !== null) return this.schemaReady
    const ready = (async () => {
      const client = await this.pool.connect()
      let failure: Error | undefined
      try {
        const found = await migrateSchema(client, this.schema)
        if (found > SCHEMA_VERSION) this.logger.warn({ schema: this.schema, found, known: SCHEMA_VERSION }, 'the state schema was migrated by a newer Drawbridge')
      } catch (err) {
        failure = err as Error
        throw err
      } finally {
        // A connection that failed mid-transaction is dropped, not reused.
        client.release(failure)
      }
    })()
    this.schemaReady = ready
    ready.catch(() => { if (this.schemaReady === ready) this.schemaReady = null })
    return ready
  }

  private connectListener (): void {
    if (this.closed) return
    const client = new (loadPg().Client)({
      connectionString: this.url,
      connectionTimeoutMillis: this.connectTimeoutMs,
      query_timeout: this.queryTimeoutMs,
      keepAlive: true,
      application_name: 'drawbridge-state-listen'
    })
    this.listener = client
    client.on('error', (err) => { this.dropListener(client, postgresReason(err)) })
    client.on('end', () => { this.dropListener(client, 'postgres unreachable: connection closed') })
    client.on('notification', (message) => {
      if (message.channel === this.channel && message.payload !== undefined) this.doc.onNotice(message.payload)
    })
    // LISTEN before the resync that reads, so no write can slip between them.
    client.connect()
      .then(() => client.query(`LISTEN ${quoteIdent(this.channel)}`))
      .then(() => {
        if (this.listener !== client || this.closed) return
        this.listening = true
        this.listenDown = null
        this.reconnectAttempt = 0
        this.firstListenDone()
        if (this.wasDown) {
          this.wasDown = false
          this.logger.info('postgres connection restored')
        }
        this.doc.resync()
      })
      .catch((err: unknown) => { this.dropListener(client, postgresReason(err)) })
  }

  /** Gives up a LISTEN connection (once), and schedules the next one. */
  private dropListener (client: Client, reason: string): void {
    if (this.listener !== client || this.closed) return
    this.listener = null
    this.listening = false
    // Keep the first, most telling reason ('ECONNREFUSED' over a later 'connection closed').
    if (this.listenDown === null || !reason.endsWith('connection closed')) this.listenDown = reason
    this.firstListenDone()
    if (!this.wasDown) {
      this.wasDown = true
      this.logger.warn({ reason }, 'postgres unreachable; keeping the last state and reconnecting')
    }
    // With a query in flight, end() destroys the socket rather than waiting on a silent server.
    client.end().catch(() => {})
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.connectListener()
    }, reconnectDelay(this.reconnectAttempt++))
    this.reconnectTimer.unref()
  }

  /** Every resync interval: the version check, and a ping that finds a LISTEN connection gone silent. */
  private tick (): void {
    this.doc.resync()
    const client = this.listener
    if (client === null || !this.listening) return
    client.query('SELECT 1').catch((err: unknown) => { this.dropListener(client, postgresReason(err)) })
  }
}
