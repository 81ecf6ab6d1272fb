import type { Redis, RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { errors, isDrawbridgeError } from '../errors.js'
import { DEFAULT_BUDGETS, type StoreBudgets } from './budgets.js'
import { CONNECT_TIMEOUT_MS } from './redis-options.js'
import { AUDIT_PUSH, CAS, PUT_IF_NEWER, SCRIPTS, type LuaScript } from './redis-scripts.js'
import { firstConnection, newRedisClient, quit, restartIfEnded } from './redis-client.js'
import { SharedDocument, SharedDocumentStore, type DocumentBackend } from './shared-document.js'
import { decodeAuditLines, parseState } from './state-codec.js'
import type { AuditEntry, SharedState, StateStore, StoreHealth } from './types.js'

export interface RedisStoreOptions {
  logger: Logger
  /** From redisOptionsFromConfig(); must keep enableOfflineQueue: false so calls fail fast while Redis is away. */
  connection: RedisOptions
  /** Prefix of every key and of the channel, so several gateways can share one Redis. */
  keyPrefix: string
  /** Periodic version check that heals missed pub/sub messages. */
  resyncIntervalMs: number
  /** Size budgets of the state and the audit log (DEFAULT_BUDGETS when absent). */
  budgets?: Partial<StoreBudgets>
  /** How long load()/update() wait for the very first connection before rejecting. */
  firstConnectTimeoutMs?: number
  /** Put into a Redis that holds no state before this process saw any: the replica's cached state. */
  seed?: SharedState | null | undefined
}

/**
 * The shared store for several replicas. The whole SharedState is one JSON
 * document; writes are compare-and-set on its version (a Lua script; the
 * versioning is shared-document.ts's), so
 * writers on different replicas never lose an update and the version only
 * grows. Each write is published on `<prefix>changes`; a second connection
 * subscribes and hands newer documents to the listeners (the StateHolder), and
 * a periodic version check plus a resync on every reconnect heal missed
 * messages. Nothing here is on the request path: the gateway reads the holder.
 *
 * While Redis is away, calls reject at once with DRAWBRIDGE_ERR_STORE_UNAVAILABLE
 * (no offline queue), listeners keep the last state, and both connections
 * reconnect with backoff forever.
 *
 * `update` may run its mutator more than once (after a conflict), always on a
 * fresh copy of the newest state: mutators must not have side effects.
 */
export class RedisStore extends SharedDocumentStore implements StateStore {
  private readonly cmd: Redis
  private readonly sub: Redis
  private readonly logger: Logger
  private readonly keys: { state: string, version: string, audit: string, auditBytes: string, channel: string }
  private readonly budgets: StoreBudgets
  private readonly firstConnectTimeoutMs: number
  protected readonly doc: SharedDocument
  /** Why each connection is down (null while it is up or still making its first attempt). */
  private cmdDown: string | null = null
  private subDown: string | null = null
  private subscribed = false
  private wasDown = false
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor (options: RedisStoreOptions) {
    super()
    this.logger = options.logger
    const p = options.keyPrefix
    this.keys = { state: `${p}state`, version: `${p}version`, audit: `${p}audit`, auditBytes: `${p}audit-bytes`, channel: `${p}changes` }
    this.budgets = { ...DEFAULT_BUDGETS, ...options.budgets }
    this.firstConnectTimeoutMs = options.firstConnectTimeoutMs ?? CONNECT_TIMEOUT_MS
    this.doc = new SharedDocument({
      backend: this.backend(),
      logger: this.logger,
      budgets: this.budgets,
      access: async (operation) => {
        await this.ready()
        return await this.call(operation)
      },
      connected: () => this.cmd.status === 'ready',
      seed: options.seed
    })

    this.cmd = newRedisClient({ ...options.connection, lazyConnect: true, enableOfflineQueue: false })
    // We subscribe on every 'ready' ourselves, then resync, so the order
    // subscribe-before-read (no gap for a write to slip through) is ours to keep.
    this.sub = newRedisClient({ ...options.connection, lazyConnect: true, enableOfflineQueue: false, autoResubscribe: false })
    for (const { name, keys, lua } of SCRIPTS) this.cmd.defineCommand(name, { numberOfKeys: keys, lua })

    this.cmd.on('ready', () => {
      this.cmdDown = null
      this.connectionUp()
      this.doc.resync()
    })
    this.cmd.on('error', (err: NodeJS.ErrnoException) => { this.connectionDown('cmd', err.code ?? err.message) })
    this.cmd.on('close', () => { this.connectionDown('cmd', 'connection closed') })
    this.cmd.on('end', () => { restartIfEnded(this.cmd, () => this.closed) })

    this.sub.on('ready', () => { void this.onSubscriberReady() })
    this.sub.on('error', (err: NodeJS.ErrnoException) => { this.connectionDown('sub', err.code ?? err.message) })
    this.sub.on('close', () => {
      this.subscribed = false
      this.connectionDown('sub', 'connection closed')
    })
    this.sub.on('end', () => { restartIfEnded(this.sub, () => this.closed) })
    this.sub.on('message', (channel: string, message: string) => {
      if (channel === this.keys.channel) this.onMessage(message)
    })

    // Rejections are reported through the 'error' events above.
    this.cmd.connect().catch(() => {})
    this.sub.connect().catch(() => {})

    this.timer = setInterval(() => { this.doc.resync() }, options.resyncIntervalMs)
    this.timer.unref()
  }

  async appendAudit (entry: AuditEntry): Promise<void> {
    await this.ready()
    const { audit, auditBytes } = this.keys
    await this.call(() => this.evalScript(AUDIT_PUSH, [audit, auditBytes], JSON.stringify(entry), this.budgets.auditMaxEntries, this.budgets.auditMaxBytes))
  }

  async listAudit (limit: number): Promise<AuditEntry[]> {
    if (limit <= 0) return []
    await this.ready()
    const items = await this.call(() => this.cmd.lrange(this.keys.audit, 0, Math.min(limit, this.budgets.auditMaxEntries) - 1))
    return decodeAuditLines(items)
  }

  health (): StoreHealth {
    if (this.closed) return { ok: false, reason: 'store closed' }
    if (this.doc.problem !== null) return { ok: false, reason: this.doc.problem }
    if (this.cmd.status === 'ready' && this.sub.status === 'ready' && this.subscribed) return { ok: true, reason: null }
    return { ok: false, reason: `redis unreachable: ${this.cmdDown ?? this.subDown ?? 'connecting'}` }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    await this.doc.close()
    await Promise.all([quit(this.cmd), quit(this.sub)])
  }

  /** The document under `<prefix>state`, its version duplicated under `<prefix>version` for cheap checks. */
  private backend (): DocumentBackend {
    return {
      where: `redis key ${this.keys.state}`,
      readVersion: async () => {
        const version = await this.cmd.get(this.keys.version)
        return version === null ? null : Number(version)
      },
      readDocument: async () => {
        const json = await this.cmd.get(this.keys.state)
        return json === null ? null : { json }
      },
      compareAndSet: async (expected, json, version) => await this.eval(CAS, expected, json, version, this.keys.channel) === 1,
      putIfNewer: async (json, version) => ({ json: String(await this.eval(PUT_IF_NEWER, json, version, this.keys.channel)) })
    }
  }

  private async eval (script: LuaScript, ...args: Array<string | number>): Promise<unknown> {
    return await this.evalScript(script, [this.keys.state, this.keys.version], ...args)
  }

  /** A script defined with defineCommand: ioredis sends EVALSHA and falls back to EVAL on NOSCRIPT (a restarted server, SCRIPT FLUSH). */
  private async evalScript (script: LuaScript, keys: string[], ...args: Array<string | number>): Promise<unknown> {
    const command = (this.cmd as unknown as Record<string, (...a: Array<string | number>) => Promise<unknown>>)[script.name]
    if (command === undefined) throw new Error(`redis script ${script.name} is not defined`)
    return await command.call(this.cmd, ...keys, ...args)
  }

  private async onSubscriberReady (): Promise<void> {
    try {
      await this.sub.subscribe(this.keys.channel)
    } catch (err) {
      this.connectionDown('sub', (err as Error).message)
      return
    }
    this.subscribed = true
    this.subDown = null
    this.connectionUp()
    // Anything written while we were not subscribed is only in Redis now.
    this.doc.resync()
  }

  /**
   * Writers publish the new version (a document from older versions): a
   * version newer than ours is fetched by a resync, so a large state never
   * travels through Redis's pub/sub output buffers, whose default limit
   * (8 MB for 60 s) disconnects subscribers.
   */
  private onMessage (message: string): void {
    if (this.doc.onNotice(message)) return
    let state: SharedState
    try {
      state = parseState(message)
    } catch (err) {
      this.logger.warn({ err }, 'ignoring an invalid state message')
      return
    }
    this.doc.observe(state)
  }

  private connectionDown (which: 'cmd' | 'sub', reason: string): void {
    if (this.closed) return
    if (which === 'cmd') {
      if (this.cmd.status === 'ready') return
      // Keep the first, most telling reason ('ECONNREFUSED' over a later 'connection closed').
      if (this.cmdDown === null || reason !== 'connection closed') this.cmdDown = reason
    } else {
      if (this.subDown === null || reason !== 'connection closed') this.subDown = reason
    }
    if (!this.wasDown) {
      this.wasDown = true
      this.logger.warn({ reason }, 'redis unreachable; keeping the last state and reconnecting')
    }
  }

  private connectionUp (): void {
    if (this.wasDown && this.cmd.status === 'ready' && this.subscribed) {
      this.wasDown = false
      this.logger.info('redis connection restored')
    }
  }

  /** Resolves when the command connection is usable; rejects at once when Redis is known to be away. */
  private async ready (): Promise<void> {
    if (this.closed) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE('store closed')
    if (this.cmd.status === 'ready') return
    if (this.cmdDown !== null) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(`redis unreachable: ${this.cmdDown}`)
    // Still making the first connection: wait for it, bounded.
    await firstConnection(this.cmd, this.firstConnectTimeoutMs, () => this.cmdDown)
  }

  /** Runs a Redis call, turning connection and server errors into a 503 the admin API can answer. */
  private async call<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw this.unavailable(err as Error)
    }
  }

  private unavailable (err: Error): Error {
    if (isDrawbridgeError(err)) return err
    const state = this.cmd.status === 'ready' ? 'error' : 'unreachable'
    const wrapped = new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(`redis ${state}: ${err.message}`)
    wrapped.cause = err
    return wrapped
  }
}
