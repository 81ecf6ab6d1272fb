import { setTimeout as sleep } from 'node:timers/promises'
import type { RedisOptions } from 'ioredis'
import type { Logger } from 'pino'
import { errors } from '../errors.js'
import { initialState } from './initial-state.js'
import { checkBudgets, DEFAULT_BUDGETS, type StoreBudgets } from './budgets.js'
import { CONNECT_TIMEOUT_MS, inOneSlot, type RedisNode } from './redis-options.js'
import { AUDIT_PUSH, CAS, PUT_IF_NEWER, SCRIPTS, type LuaScript } from './redis-scripts.js'
import type { RedisClient } from './redis-client.js'
import { RedisLinks } from './redis-links.js'
import { parseState, withOwnDicts } from './state-codec.js'
import { checkWritable } from './state-schema.js'
import type { AuditEntry, SharedState, StateStore, StoreHealth } from './types.js'
import { Listeners } from './listeners.js'

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
}

/** Compare-and-set attempts before an update gives up; conflicts need writers on several replicas at once. */
const MAX_CAS_ATTEMPTS = 50

/**
 * The shared store for several replicas. The whole SharedState is one JSON
 * document; writes are compare-and-set on its version (a Lua script), so
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
export class RedisStore implements StateStore {
  private readonly links: RedisLinks
  private readonly cmd: RedisClient
  private readonly logger: Logger
  private readonly keys: { state: string, version: string, audit: string, auditBytes: string, channel: string }
  private readonly budgets: StoreBudgets
  private readonly firstConnectTimeoutMs: number
  private readonly listeners: Listeners<SharedState>
  /** Newest document this process has seen. */
  private latest: SharedState | null = null
  private chain: Promise<unknown> = Promise.resolve()
  private resyncRunning = false
  private resyncAgain = false
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor (options: RedisStoreOptions) {
    this.logger = options.logger
    this.listeners = new Listeners((err) => { this.logger.error({ err }, 'state store listener failed') })
    const p = options.cluster === undefined ? options.keyPrefix : inOneSlot(options.keyPrefix)
    this.keys = { state: `${p}state`, version: `${p}version`, audit: `${p}audit`, auditBytes: `${p}audit-bytes`, channel: `${p}changes` }
    this.budgets = { ...DEFAULT_BUDGETS, ...options.budgets }
    this.firstConnectTimeoutMs = options.firstConnectTimeoutMs ?? CONNECT_TIMEOUT_MS

    this.links = new RedisLinks({
      logger: this.logger,
      connection: options.cluster === undefined ? { options: options.connection } : { options: options.connection, cluster: options.cluster },
      channel: this.keys.channel,
      probeKey: this.keys.version,
      firstConnectTimeoutMs: this.firstConnectTimeoutMs,
      onCommandReady: () => { this.resync() },
      // Anything written while we were not subscribed is only in Redis now.
      onSubscribed: () => { this.resync() },
      onMessage: (message) => { this.onMessage(message) }
    })
    this.cmd = this.links.cmd
    for (const { name, keys, lua } of SCRIPTS) this.cmd.defineCommand(name, { numberOfKeys: keys, lua })

    this.timer = setInterval(() => { this.resync() }, options.resyncIntervalMs)
    this.timer.unref()
  }

  async load (): Promise<SharedState> {
    await this.ready()
    const state = await this.call(() => this.readOrCreate())
    this.observe(state)
    return state
  }

  update (mutate: (draft: SharedState) => SharedState | Promise<SharedState>): Promise<SharedState> {
    // Serialised locally so this replica's own writers do not conflict with
    // each other; the compare-and-set handles the other replicas.
    return this.serial(async () => {
      for (let attempt = 1; ; attempt++) {
        await this.ready()
        const current = await this.call(() => this.readOrCreate())
        const next = await mutate(structuredClone(current))
        const committed: SharedState = { ...withOwnDicts(next), version: current.version + 1 }
        checkWritable(current, committed)
        const json = JSON.stringify(committed)
        checkBudgets(current, committed, this.budgets, json)
        const written = await this.call(() => this.eval(CAS, current.version, json, committed.version, this.keys.channel))
        if (written === 1) {
          this.observe(committed)
          return committed
        }
        if (attempt >= MAX_CAS_ATTEMPTS) {
          throw new errors.DRAWBRIDGE_ERR_CONFLICT('the state kept changing under this update; try again')
        }
        await sleep(Math.floor(Math.random() * 5 * Math.min(attempt, 10)))
      }
    })
  }

  subscribe (listener: (state: SharedState) => void): () => void {
    return this.listeners.add(listener)
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
    const entries: AuditEntry[] = []
    for (const item of items) {
      try {
        entries.push(JSON.parse(item) as AuditEntry)
      } catch {
        // A foreign or damaged entry must not hide the others.
      }
    }
    return entries
  }

  health (): StoreHealth {
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
    await this.chain.catch(() => {})
    this.listeners.clear()
    await this.links.close()
  }

  /** The stored document; when there is none, restores the newest one seen here or creates the first. */
  private async readOrCreate (): Promise<SharedState> {
    const raw = await this.cmd.get(this.keys.state)
    if (raw !== null) return this.parse(raw)
    const seed = this.latest ?? initialState()
    if (this.latest !== null) this.logger.warn({ version: seed.version }, 'redis holds no state; restoring the last state this replica had')
    const stored = await this.eval(PUT_IF_NEWER, JSON.stringify(seed), seed.version, this.keys.channel)
    return this.parse(String(stored))
  }

  private parse (raw: string): SharedState {
    try {
      return parseState(raw)
    } catch (err) {
      throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(`redis key ${this.keys.state} does not hold a valid state (${(err as Error).message})`)
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
   * Cheap check of the version key; fetches the document only when it differs
   * from ours. A lower version in Redis means Redis lost data (restarted
   * without persistence, restored from an old snapshot): restore ours.
   */
  private resync (): void {
    if (this.resyncRunning) {
      this.resyncAgain = true
      return
    }
    this.resyncRunning = true
    void this.resyncOnce().finally(() => {
      this.resyncRunning = false
      if (this.resyncAgain) {
        this.resyncAgain = false
        this.resync()
      }
    })
  }

  private async resyncOnce (): Promise<void> {
    if (this.closed || this.cmd.status !== 'ready') return
    const seen = this.latest
    try {
      const version = await this.cmd.get(this.keys.version)
      if (seen !== null && version !== null && Number(version) === seen.version) return
      const stored = await this.readOrCreate()
      if (seen !== null && stored.version < seen.version) {
        this.logger.warn({ stored: stored.version, held: seen.version }, 'redis holds an older state than this replica; restoring the newer one')
        await this.eval(PUT_IF_NEWER, JSON.stringify(seen), seen.version, this.keys.channel)
        return
      }
      this.observe(stored)
    } catch (err) {
      this.logger.debug({ err }, 'state resync failed; will retry')
    }
  }

  /**
   * Writers publish the new version (a document from older versions): a
   * version newer than ours is fetched by a resync, so a large state never
   * travels through Redis's pub/sub output buffers, whose default limit
   * (8 MB for 60 s) disconnects subscribers.
   */
  private onMessage (message: string): void {
    if (/^\d{1,16}$/.test(message)) {
      if (this.latest === null || Number(message) > this.latest.version) this.resync()
      return
    }
    let state: SharedState
    try {
      state = parseState(message)
    } catch (err) {
      this.logger.warn({ err }, 'ignoring an invalid state message')
      return
    }
    this.observe(state)
  }

  /** Hands a document to the listeners if it is newer than any seen, so a late message never rolls state back. */
  private observe (state: SharedState): void {
    if (this.latest !== null && state.version <= this.latest.version) return
    this.latest = state
    this.listeners.emit(state)
  }

  private async ready (): Promise<void> {
    await this.links.ready()
  }

  private async call<T> (fn: () => Promise<T>): Promise<T> {
    return await this.links.call(fn)
  }

  private serial<T> (task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE('store closed'))
    const run = this.chain.then(task, task)
    this.chain = run.catch(() => {})
    return run
  }
}
