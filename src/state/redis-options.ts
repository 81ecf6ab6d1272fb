import { isIP } from 'node:net'
import type { RedisOptions } from 'ioredis'
import type { Config } from '../config/schema.js'
import { parseHostPort } from '../config/host-port.js'
import { ConfigError } from '../errors.js'

export const DEFAULT_KEY_PREFIX = 'drawbridge:'

/** Bounds that keep an admin request from hanging on a Redis that is away. */
export const CONNECT_TIMEOUT_MS = 2000
export const COMMAND_TIMEOUT_MS = 2000
/**
 * TCP keepalive after this much idle time: the kernel then notices a peer
 * that vanished without a FIN (a host gone, a dropped route). A frozen server
 * whose kernel still answers is the liveness probe's job (redis-liveness.ts).
 */
const KEEPALIVE_MS = 10_000
const MAX_BACKOFF_MS = 2000

export type RedisConfig = Pick<Config, 'redisUrl' | 'redis' | 'redisClusterNodes' | 'redisSentinels' | 'redisSentinelName'>

export interface RedisNode {
  host: string
  port: number
}

/** PEM contents of redisCaFile, redisCertFile and redisKeyFile (read by redis-connection.ts). */
export interface RedisTlsMaterial {
  ca?: string
  cert?: string
  key?: string
}

/** Reconnect forever: quick at first, then every ~2 s, with jitter so replicas do not reconnect in lockstep. */
export function reconnectDelay (attempt: number, maxMs = MAX_BACKOFF_MS): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), maxMs) + Math.floor(Math.random() * 100)
}

/**
 * Through Sentinel a reconnect asks a sentinel first, so a master that died
 * is left for the promoted replica on the first attempt after the promotion:
 * attempts at most ~0.5 s apart keep that gap short.
 */
const SENTINEL_MAX_BACKOFF_MS = 500

/** Redis Cluster seed nodes: `redisClusterNodes` (flag, env, file) wins over the file's `redis.cluster`. */
export function clusterNodesFromConfig (config: RedisConfig): RedisNode[] | undefined {
  if (config.redisClusterNodes !== undefined) {
    return config.redisClusterNodes.map((text) => {
      const node = parseHostPort(text)
      if (node === null || node.port === 0) throw new ConfigError('redisClusterNodes', `"${text}" is not host:port (expected e.g. 10.0.0.5:6379)`)
      return node
    })
  }
  return config.redis?.cluster?.map(({ host, port }) => ({ host, port }))
}

/** Sentinel nodes and the master's name: `redisSentinels` / `redisSentinelName` (flag, env, file) win over the file's `redis.sentinels` / `redis.name`. */
export function sentinelsFromConfig (config: RedisConfig): { sentinels: RedisNode[] | undefined, name: string | undefined } {
  const sentinels = config.redisSentinels === undefined
    ? config.redis?.sentinels?.map(({ host, port }) => ({ host, port }))
    : config.redisSentinels.map((text) => {
      const node = parseHostPort(text)
      if (node === null || node.port === 0) throw new ConfigError('redisSentinels', `"${text}" is not host:port (expected e.g. 10.0.0.7:26379)`)
      return node
    })
  return { sentinels, name: config.redisSentinelName ?? config.redis?.name }
}

export function keyPrefixFromConfig (config: RedisConfig): string {
  const prefix = config.redis?.keyPrefix ?? DEFAULT_KEY_PREFIX
  return clusterNodesFromConfig(config) === undefined ? prefix : inOneSlot(prefix)
}

/**
 * A prefix whose keys all hash to one Redis Cluster slot, so the scripts that
 * touch several of them run on one node: Redis hashes only the part between
 * the first `{` and the next `}` (a hash tag). A prefix with its own tag
 * (`{shop}:`) is kept; one without braces is wrapped whole (`{drawbridge:}`).
 */
export function inOneSlot (prefix: string): string {
  const open = prefix.indexOf('{')
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1)
  if (open >= 0 && close > open + 1) return prefix
  if (prefix.includes('{') || prefix.includes('}')) {
    throw new ConfigError('redis.keyPrefix', 'on a Redis Cluster it must hold a hash tag such as {shop}: or no braces at all')
  }
  return `{${prefix}}`
}

/** True when the config selects the Redis store rather than the embedded one. */
export function usesRedis (config: RedisConfig): boolean {
  return config.redisUrl !== undefined || sentinelsFromConfig(config).sentinels !== undefined || clusterNodesFromConfig(config) !== undefined
}

/**
 * ioredis options for every connection, from `redisUrl`, `redis` and the TLS
 * material. Pure (no I/O) so every form can be tested without a server:
 * - `redis://[user:pass@]host[:port][/db]`;
 * - `rediss://...`: TLS, verifying the server certificate against the host
 *   name, with the CA (and client certificate) given;
 * - `redisSentinels` + `redisSentinelName` (or the file's `redis.sentinels` +
 *   `redis.name`): the master is found through Sentinel;
 *   credentials, db and TLS (rediss) from redisUrl apply to the master;
 * - a Redis Cluster (`clusterNodesFromConfig`): these are the options of each
 *   node; credentials and TLS from redisUrl, no db.
 * Throws ConfigError naming the setting. Error messages never repeat the URL,
 * which may hold a password.
 */
export function redisOptionsFromConfig (config: RedisConfig, tlsMaterial: RedisTlsMaterial = {}): RedisOptions {
  const { sentinels, name } = sentinelsFromConfig(config)
  const cluster = clusterNodesFromConfig(config)
  // Errors name the form the operator used: the flag/env setting, or the config file's key.
  const flagForm = config.redisSentinels !== undefined || config.redisSentinelName !== undefined
  const [sentinelsSetting, nameSetting] = flagForm ? ['redisSentinels', 'redisSentinelName'] : ['redis.sentinels', 'redis.name']
  if (sentinels !== undefined && name === undefined) throw new ConfigError(nameSetting, `required with ${sentinelsSetting}`)
  if (name !== undefined && sentinels === undefined) throw new ConfigError(sentinelsSetting, `required with ${nameSetting}`)
  if (cluster !== undefined && sentinels !== undefined) throw new ConfigError('redis.cluster', 'cannot be used with redis.sentinels: a Redis Cluster fails over on its own')
  if (config.redisUrl === undefined && sentinels === undefined && cluster === undefined) throw new ConfigError('redisUrl', 'required for the Redis store')

  const options: RedisOptions = {
    // We connect explicitly and watch readiness ourselves.
    lazyConnect: true,
    // Fail fast while disconnected instead of queueing: an admin write must get
    // a 503 at once, not wait for Redis to come back.
    enableOfflineQueue: false,
    // A command in flight when the connection drops is not re-sent: a
    // compare-and-set whose reply was lost must surface as an error, not run twice.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    keepAlive: KEEPALIVE_MS,
    retryStrategy: reconnectDelay,
    // After a failover the old master turns replica; reconnect to find the new
    // one (through the sentinels, or a DNS name that moved to the new primary).
    reconnectOnError: (err) => err.message.startsWith('READONLY')
  }

  let tls = false
  if (config.redisUrl !== undefined) {
    let url: URL
    try {
      url = new URL(config.redisUrl)
    } catch {
      throw new ConfigError('redisUrl', 'not a valid URL (expected redis://host:port or rediss://host:port)')
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      throw new ConfigError('redisUrl', `scheme must be redis:// or rediss://, not ${url.protocol}//`)
    }
    tls = url.protocol === 'rediss:'
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    if (sentinels === undefined && cluster === undefined) {
      if (host === '') throw new ConfigError('redisUrl', 'host is missing')
      options.host = host
      options.port = url.port === '' ? 6379 : Number(url.port)
      // Node refuses an IP address as TLS server name (RFC 6066); certificates
      // for IPs are still checked against the IP.
      if (tls) options.tls = isIP(host) === 0 ? { servername: host } : {}
    } else if (tls) {
      // Sentinel and Cluster hand out node addresses; each is checked against its certificate.
      options.tls = {}
      if (sentinels !== undefined) options.enableTLSForSentinelMode = true
    }
    if (url.username !== '') options.username = decodeURIComponent(url.username)
    if (url.password !== '') options.password = decodeURIComponent(url.password)
    const db = url.pathname.replace(/^\//, '')
    if (db !== '') {
      if (!/^\d+$/.test(db)) throw new ConfigError('redisUrl', `database must be a number, got "/${db}"`)
      if (cluster !== undefined && db !== '0') throw new ConfigError('redisUrl', 'a Redis Cluster has only database 0')
      options.db = Number(db)
    }
  }
  addTlsMaterial(options, tls, tlsMaterial)

  if (sentinels !== undefined) {
    options.sentinels = sentinels.map((s) => ({ host: s.host, port: s.port }))
    options.name = name
    // Keep asking the sentinels forever, like the reconnects, each answer bounded.
    options.sentinelRetryStrategy = reconnectDelay
    options.retryStrategy = (attempt) => reconnectDelay(attempt, SENTINEL_MAX_BACKOFF_MS)
    options.sentinelCommandTimeout = COMMAND_TIMEOUT_MS
    // Listen to the sentinels' +switch-master and leave a master they replaced
    // at once, even one that is frozen or cut off and so never closes the
    // connection. Its connections to the sentinels are made again with each
    // connection to a master; a sentinel lost meanwhile is retried on
    // ioredis's own (slow) schedule, and the liveness probe covers the rest.
    options.failoverDetector = true
  }
  return options
}

function addTlsMaterial (options: RedisOptions, tls: boolean, material: RedisTlsMaterial): void {
  const given = (['ca', 'cert', 'key'] as const).filter((k) => material[k] !== undefined)
  if (given.length === 0) return
  const setting = { ca: 'redisCaFile', cert: 'redisCertFile', key: 'redisKeyFile' }[given[0] as 'ca' | 'cert' | 'key']
  if (!tls) throw new ConfigError(setting, 'needs a rediss:// redisUrl (TLS); redis:// connects in plain text')
  if (material.cert !== undefined && material.key === undefined) throw new ConfigError('redisKeyFile', 'required with redisCertFile')
  if (material.key !== undefined && material.cert === undefined) throw new ConfigError('redisCertFile', 'required with redisKeyFile')
  options.tls = { ...options.tls, ...material }
}
