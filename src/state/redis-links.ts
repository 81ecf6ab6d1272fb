import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { errors, isDrawbridgeError } from '../errors.js'
import { firstConnection, openCommandClient, openSubscriberClient, quit, restartIfEnded, type RedisClient } from './redis-client.js'
import type { RedisConnection } from './redis-connection.js'
import { COMMAND_TIMEOUT_MS } from './redis-options.js'
import { isTimeout, masterProbe, RedisLiveness, type ProbedConnection } from './redis-liveness.js'
import { settingProblem, watchFirstConnection, type FirstFailure } from './redis-verify.js'
import type { StoreHealth } from './types.js'

export interface RedisLinksOptions {
  logger: Logger
  connection: RedisConnection
  /** The pub/sub channel of state changes. */
  channel: string
  /** A key next to the state: a Cluster's probe reads it, so it reaches the node that holds the state. */
  probeKey: string
  /** How long calls wait for the very first connection before rejecting. */
  firstConnectTimeoutMs: number
  /** The command connection is (again) usable. */
  onCommandReady: () => void
  /** Subscribed (again): anything published meanwhile is only in Redis. */
  onSubscribed: () => void
  onMessage: (message: string) => void
}

/**
 * The two connections of a RedisStore and what is known about them: one for
 * commands, one subscribed to the channel. Both reconnect with backoff
 * forever; a liveness probe drops either when the server stops answering
 * (see redis-liveness.ts). While the command connection is away, calls
 * reject at once with DRAWBRIDGE_ERR_STORE_UNAVAILABLE (no offline queue).
 */
export class RedisLinks {
  readonly cmd: RedisClient
  readonly sub: Redis
  private readonly logger: Logger
  private readonly options: RedisLinksOptions
  private readonly liveness: RedisLiveness
  private readonly cmdProbe: ProbedConnection
  private readonly subProbe: ProbedConnection
  private readonly firstFailure: (timeoutMs: number) => Promise<FirstFailure | null>
  /** Why each connection is down (null while it is up or still making its first attempt). */
  private cmdDown: string | null = null
  private subDown: string | null = null
  /** What the last probe of each found wrong, until a probe finds it right again (a reconnect alone does not). */
  private cmdStalled: string | null = null
  private subStalled: string | null = null
  private subscribed = false
  private wasDown = false
  private closed = false

  constructor (options: RedisLinksOptions) {
    this.options = options
    this.logger = options.logger
    const { connection, channel } = options
    this.cmd = openCommandClient(connection, { lazyConnect: true, enableOfflineQueue: false })
    this.firstFailure = watchFirstConnection(this.cmd)
    // We subscribe on every 'ready' ourselves, then resync, so the order
    // subscribe-before-read (no gap for a write to slip through) is ours to keep.
    this.sub = openSubscriberClient(connection, { lazyConnect: true, enableOfflineQueue: false, autoResubscribe: false })

    this.cmd.on('ready', () => {
      this.cmdDown = null
      // After a stall, the server reached may be the same silent or demoted one: ask it at once.
      if (this.cmdStalled !== null) this.liveness.probeNow(this.cmdProbe)
      this.connectionUp()
      options.onCommandReady()
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
    this.sub.on('message', (from: string, message: string) => {
      if (from === channel) options.onMessage(message)
    })

    this.cmdProbe = {
      client: this.cmd,
      // A Cluster's probe must reach the node of our slot; ROLE would go to any node.
      probe: connection.cluster === undefined ? masterProbe(this.cmd) : async () => { await this.cmd.exists(options.probeKey); return null },
      onStall: (reason) => { this.stalled('cmd', reason) },
      onAlive: () => { this.alive('cmd') }
    }
    this.subProbe = {
      client: this.sub,
      probe: async () => { await this.sub.ping(); return null },
      onStall: (reason) => { this.stalled('sub', reason) },
      onAlive: () => { this.alive('sub') }
    }
    this.liveness = new RedisLiveness([this.cmdProbe, this.subProbe], COMMAND_TIMEOUT_MS)

    // Rejections are reported through the 'error' events above.
    this.cmd.connect().catch(() => {})
    this.sub.connect().catch(() => {})
  }

  /**
   * Waits for the first connection (bounded) and throws ConfigError when a
   * setting explains its failure: a certificate no configured CA vouches for,
   * a client certificate the server wants, credentials it refuses. A Redis
   * that is merely away is not a setting problem: the gateway then starts and
   * follows its fail policy.
   */
  async verify (): Promise<void> {
    const failure = await this.firstFailure(this.options.firstConnectTimeoutMs)
    const problem = failure === null ? null : settingProblem(failure, this.options.connection.options)
    if (problem !== null) throw problem
  }

  health (): StoreHealth {
    if (this.closed) return { ok: false, reason: 'store closed' }
    if (this.up()) return { ok: true, reason: null }
    return { ok: false, reason: `redis unreachable: ${this.cmdStalled ?? this.cmdDown ?? this.subStalled ?? this.subDown ?? 'connecting'}` }
  }

  /** Resolves when the command connection is usable; rejects at once when Redis is known to be away. */
  async ready (): Promise<void> {
    if (this.closed) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE('store closed')
    if (this.cmd.status === 'ready') return
    if (this.cmdDown !== null) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(`redis unreachable: ${this.cmdDown}`)
    // Still making the first connection: wait for it, bounded.
    await firstConnection(this.cmd, this.options.firstConnectTimeoutMs, () => this.cmdDown)
  }

  /** Runs a Redis call, turning connection and server errors into a 503 the admin API can answer. */
  async call<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      // A command that timed out says what a probe would: leave that server now.
      if (isTimeout(err)) this.liveness.stalled(this.cmdProbe, `no reply within ${COMMAND_TIMEOUT_MS} ms`)
      throw this.unavailable(err as Error)
    }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.liveness.stop()
    await Promise.all([quit(this.cmd), quit(this.sub)])
  }

  private unavailable (err: Error): Error {
    if (isDrawbridgeError(err)) return err
    const state = this.cmd.status === 'ready' ? 'error' : 'unreachable'
    const wrapped = new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(`redis ${state}: ${err.message}`)
    wrapped.cause = err
    return wrapped
  }

  private async onSubscriberReady (): Promise<void> {
    try {
      await this.sub.subscribe(this.options.channel)
    } catch (err) {
      this.connectionDown('sub', (err as Error).message)
      return
    }
    this.subscribed = true
    this.subDown = null
    if (this.subStalled !== null) this.liveness.probeNow(this.subProbe)
    this.connectionUp()
    this.options.onSubscribed()
  }

  private up (): boolean {
    return this.cmd.status === 'ready' && this.sub.status === 'ready' && this.subscribed && this.cmdStalled === null && this.subStalled === null
  }

  /** A connection that stopped answering (or a master turned replica): recorded before it is dropped, so /readyz says why. */
  private stalled (which: 'cmd' | 'sub', reason: string): void {
    if (which === 'cmd') this.cmdStalled = reason
    else this.subStalled = reason
    this.reportDown(reason)
  }

  private alive (which: 'cmd' | 'sub'): void {
    if (which === 'cmd') this.cmdStalled = null
    else this.subStalled = null
    this.connectionUp()
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
    this.reportDown(reason)
  }

  private reportDown (reason: string): void {
    if (!this.wasDown) {
      this.wasDown = true
      this.logger.warn({ reason }, 'redis unreachable; keeping the last state and reconnecting')
    }
  }

  private connectionUp (): void {
    if (this.wasDown && this.up()) {
      this.wasDown = false
      this.logger.info('redis connection restored')
    }
  }
}
