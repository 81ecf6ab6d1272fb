import { isIP } from 'node:net'
import type { RedisOptions } from 'ioredis'
import type { Config } from '../config/schema.js'
import { ConfigError } from '../errors.js'

export const DEFAULT_KEY_PREFIX = 'drawbridge:'

/** Bounds that keep an admin request from hanging on a Redis that is away. */
export const CONNECT_TIMEOUT_MS = 2000
export const COMMAND_TIMEOUT_MS = 2000
const MAX_BACKOFF_MS = 2000

/** Reconnect forever: quick at first, then every ~2 s, with jitter so replicas do not reconnect in lockstep. */
export function reconnectDelay (attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 10), MAX_BACKOFF_MS) + Math.floor(Math.random() * 100)
}

export function keyPrefixFromConfig (config: Pick<Config, 'redis'>): string {
  return config.redis?.keyPrefix ?? DEFAULT_KEY_PREFIX
}

/** True when the config selects the Redis store rather than the embedded one. */
export function usesRedis (config: Pick<Config, 'redisUrl' | 'redis'>): boolean {
  return config.redisUrl !== undefined || config.redis?.sentinels !== undefined
}

/**
 * ioredis options for the command connection, from `redisUrl` and `redis`.
 * Pure (no I/O) so every form can be tested without a server:
 * - `redis://[user:pass@]host[:port][/db]`;
 * - `rediss://...`: TLS, verifying the server certificate against the host name;
 * - `redis.sentinels` + `redis.name`: the master is found through Sentinel;
 *   credentials, db and TLS (rediss) from redisUrl apply to the master.
 * Throws ConfigError naming the setting. Error messages never repeat the URL,
 * which may hold a password.
 */
export function redisOptionsFromConfig (config: Pick<Config, 'redisUrl' | 'redis'>): RedisOptions {
  const sentinels = config.redis?.sentinels
  const name = config.redis?.name
  if (sentinels !== undefined && name === undefined) throw new ConfigError('redis.name', 'required with redis.sentinels')
  if (name !== undefined && sentinels === undefined) throw new ConfigError('redis.sentinels', 'required with redis.name')
  if (config.redisUrl === undefined && sentinels === undefined) throw new ConfigError('redisUrl', 'required for the Redis store')

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
    retryStrategy: reconnectDelay,
    // After a Sentinel failover the old master turns replica; reconnect to find the new one.
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
    if (sentinels === undefined) {
      if (host === '') throw new ConfigError('redisUrl', 'host is missing')
      options.host = host
      options.port = url.port === '' ? 6379 : Number(url.port)
      // Node refuses an IP address as TLS server name (RFC 6066); certificates
      // for IPs are still checked against the IP.
      if (tls) options.tls = isIP(host) === 0 ? { servername: host } : {}
    } else if (tls) {
      options.tls = {}
      options.enableTLSForSentinelMode = true
    }
    if (url.username !== '') options.username = decodeURIComponent(url.username)
    if (url.password !== '') options.password = decodeURIComponent(url.password)
    const db = url.pathname.replace(/^\//, '')
    if (db !== '') {
      if (!/^\d+$/.test(db)) throw new ConfigError('redisUrl', `database must be a number, got "/${db}"`)
      options.db = Number(db)
    }
  }

  if (sentinels !== undefined) {
    options.sentinels = sentinels.map((s) => ({ host: s.host, port: s.port }))
    options.name = name
    // Keep asking the sentinels forever, like the reconnects.
    options.sentinelRetryStrategy = reconnectDelay
  }
  return options
}
