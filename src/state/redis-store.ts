import type { RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { DEFAULT_BUDGETS, type StoreBudgets } from './budgets.js'
import { CONNECT_TIMEOUT_MS, inOneSlot, type RedisNode } from './redis-options.js'
import { AUDIT_PUSH, CAS, PUT_IF_NEWER, SCRIPTS, type LuaScript } from './redis-scripts.js'
import type { RedisClient } from './redis-client.js'
import { RedisLinks } from './redis-links.js'
import { SharedDocument, SharedDocumentStore, type DocumentBackend } from './shared-document.js'
import { decodeAuditLines, parseState } from './state-codec.js'
import type { AuditEntry, SharedState, StateStore, StoreHealth } from './types.js'

export interface RedisStoreOptions {
  logger: Logger
  /** The `options` of redisConnectionFromConfig(); must keep enableOfflineQueue: false so calls fail fast while Redis is away. */
  connection: RedisOptions
  /** Redis Cluster seed nodes (the `connection` options apply to each); absent for one server or Sentinel. */
  cluster?: RedisNode[]
  /** Prefix of every key and of the channel, so several gateways can share one Redis (on a Cluster, made one hash slot). */
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
 * On a Redis Cluster every key shares one hash slot, so the scripts run on
 * one node; the change messages use classic pub/sub, which reaches every node.
 *
 * While Redis is away, calls reject at once with DRAWBRIDGE_ERR_STORE_UNAVAILABLE
 * (no offline queue), listeners keep the last state, and both connections
 * reconnect with backoff forever (see RedisLinks).
 *
 * `update` may run its mutator more than once (after a conflict), always on a
 * fresh copy of the newest state: mutators must not have side effects.
 */
export class RedisStore extends SharedDocumentStore implements StateStore {
  private readonly links: RedisLinks
  private readonly cmd: RedisClient
  private readonly logger: Logger
  private readonly keys: { state: string, version: string, audit: string, auditBytes: string, channel: string }
  private readonly budgets: StoreBudgets
  private readonly firstConnectTimeoutMs: number
  protected readonly doc: SharedDocument
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor (options: RedisStoreOptions) {
    super()
    this.logger = options.logger
    const p = options.cluster === undefined ? options.keyPrefix : inOneSlot(options.keyPrefix)
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

    this.links = new RedisLinks({
      logger: this.logger,
      connection: options.cluster === undefined ? { options: options.connection } : { options: options.connection, cluster: options.cluster },
      channel: this.keys.channel,
      probeKey: this.keys.version,
      firstConnectTimeoutMs: this.firstConnectTimeoutMs,
      onCommandReady: () => { this.doc.resync() },
      // Anything written while we were not subscribed is only in Redis now.
      onSubscribed: () => { this.doc.resync() },
      onMessage: (message) => { this.onMessage(message) }
    })
    this.cmd = this.links.cmd
    for (const { name, keys, lua } of SCRIPTS) this.cmd.defineCommand(name, { numberOfKeys: keys, lua })

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
    if (!this.closed && this.doc.problem !== null) return { ok: false, reason: this.doc.problem }
    return this.links.health()
  }

  /** Throws ConfigError, before anything listens, when a setting explains why the first connection failed (see RedisLinks.verify). */
  async verify (): Promise<void> {
    await this.links.verify()
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    await this.doc.close()
    await this.links.close()
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

  private async ready (): Promise<void> {
    await this.links.ready()
  }

  private async call<T> (fn: () => Promise<T>): Promise<T> {
    return await this.links.call(fn)
  }
}
