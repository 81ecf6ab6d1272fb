import { createRequire } from 'node:module'
import { createConnection } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { AbstractConnector, Cluster, Redis, RedisOptions } from 'ioredis'
import { errors } from '../errors.js'
import type { RedisConnection } from './redis-connection.js'
import { CONNECT_TIMEOUT_MS, reconnectDelay, type RedisNode } from './redis-options.js'

const require = createRequire(import.meta.url)

/** A single server (or Sentinel's master), or a whole Redis Cluster. */
export type RedisClient = Redis | Cluster

/**
 * ioredis, loaded on first use: a gateway on the embedded store never pays
 * its memory (it is a sizeable part of idle RSS). ioredis is CommonJS, so a
 * synchronous require keeps callers synchronous.
 */
function ioredis (): typeof import('ioredis') {
  return require('ioredis') as typeof import('ioredis')
}

export function newRedisClient (options: RedisOptions): Redis {
  const { Redis: RedisClient } = ioredis()
  return new RedisClient(options)
}

/**
 * The client for commands. On a Cluster, ioredis's Cluster client routes each
 * command to the node that owns its slot and follows MOVED/ASK redirections and
 * failovers; our `options` become each node's options.
 */
export function openCommandClient (connection: RedisConnection, overrides: RedisOptions = {}): RedisClient {
  const options = { ...connection.options, ...overrides }
  if (connection.cluster === undefined) return newRedisClient(options)
  const { Cluster: ClusterClient } = ioredis()
  return new ClusterClient(connection.cluster, {
    redisOptions: options,
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => reconnectDelay(attempt),
    slotsRefreshTimeout: CONNECT_TIMEOUT_MS
  })
}

/**
 * The client that subscribes. Classic pub/sub reaches every node of a Cluster
 * (the cluster bus forwards each PUBLISH), so on a Cluster this is a plain
 * connection to one of the configured nodes, the next one on each reconnect:
 * one node down does not silence the subscription.
 */
export function openSubscriberClient (connection: RedisConnection, overrides: RedisOptions = {}): Redis {
  const options = { ...connection.options, ...overrides }
  if (connection.cluster === undefined) return newRedisClient(options)
  return newRedisClient({ ...options, Connector: nodeRotation(connection.cluster) })
}

type NetStream = Awaited<ReturnType<AbstractConnector['connect']>>

/** An ioredis Connector (its extension point for where a connection goes) that tries `nodes` in turn. */
function nodeRotation (nodes: readonly RedisNode[]): NonNullable<RedisOptions['Connector']> {
  const { AbstractConnector: Base } = ioredis()
  let turn = Math.floor(Math.random() * nodes.length)
  return class NodeRotation extends Base {
    private readonly options: RedisOptions
    constructor (options: unknown) {
      const redisOptions = options as RedisOptions
      super(redisOptions.disconnectTimeout ?? 2000)
      this.options = redisOptions
    }

    async connect (): Promise<NetStream> {
      const node = nodes[turn++ % nodes.length] as RedisNode
      this.connecting = true
      // Like ioredis's StandaloneConnector: the stream is made on the next tick, unless disconnected meanwhile.
      return await new Promise((resolve, reject) => {
        process.nextTick(() => {
          if (!this.connecting) {
            reject(new Error('Connection is closed.'))
            return
          }
          const target = { host: node.host, port: node.port }
          try {
            this.stream = this.options.tls === undefined ? createConnection(target) : tlsConnect({ ...target, ...this.options.tls })
          } catch (err) {
            reject(err)
            return
          }
          this.stream.once('error', (err: Error) => { this.firstError = err })
          resolve(this.stream)
        })
      })
    }
  }
}

/**
 * Resolves when a client still making its first connection is ready; rejects
 * (503) when it fails or `timeoutMs` passes. `downReason` names why, when known.
 */
export async function firstConnection (client: RedisClient, timeoutMs: number, downReason: () => string | null): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (err: Error | null): void => {
      clearTimeout(timer)
      client.off('ready', onReady)
      client.off('error', onError)
      client.off('close', onError)
      if (err === null) resolve()
      else reject(err)
    }
    const onReady = (): void => { done(null) }
    const onError = (): void => { done(new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(`redis unreachable: ${downReason() ?? 'connection closed'}`)) }
    const timer = setTimeout(() => { done(new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE('redis unreachable: connect timed out')) }, timeoutMs)
    client.on('ready', onReady)
    client.on('error', onError)
    client.on('close', onError)
  })
}

/**
 * QUIT when connected (pending replies are read first), then drop the
 * connection: through Sentinel that also closes the failover detector's
 * connections to the sentinels, which a QUIT alone leaves reconnecting.
 */
export async function quit (client: RedisClient): Promise<void> {
  if (client.status === 'ready') await client.quit().catch(() => {})
  client.disconnect()
}

/** ioredis stops reconnecting only if told to; should a client ever end on its own, start it over (unless its owner closed). */
export function restartIfEnded (client: RedisClient, closed: () => boolean): void {
  if (closed()) return
  setTimeout(() => {
    if (!closed() && client.status === 'end') client.connect().catch(() => {})
  }, 1000).unref()
}
