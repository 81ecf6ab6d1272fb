import type { Logger } from 'pino'
import type { IpcPeer } from '../ipc/ipc-peer.js'
import type { Config } from '../config/schema.js'
import { IpcStore } from './ipc-store.js'
import { MemoryStore } from './memory-store.js'
import { PostgresStore } from './postgres-store.js'
import { redisConnectionFromConfig } from './redis-connection.js'
import { keyPrefixFromConfig, usesRedis } from './redis-options.js'
import { RedisStore } from './redis-store.js'
import { StateCache } from './state-cache.js'
import type { StateStore } from './types.js'
import type { StoreBudgets } from './budgets.js'

/**
 * Set by the cluster primary in a worker's environment when the primary holds
 * the embedded store itself: the worker then reaches it over IPC.
 */
export const CLUSTER_STORE_ENV = 'DRAWBRIDGE_CLUSTER_STORE'
export const CLUSTER_STORE_IPC = 'ipc'

/**
 * The store the config asks for: PostgreSQL when `stateUrl` is set, Redis
 * when `redisUrl` (or `redis.sentinels`, or Redis Cluster nodes) is, else the embedded store, persisted to `stateFile` when given — or,
 * in a cluster worker whose primary announced the embedded store, that store
 * through the primary. Returns at once; the shared stores connect in the
 * background and their `load()` rejects while the server is unreachable. Throws
 * ConfigError for a bad Redis setting or a corrupt/unreadable state file,
 * before anything listens.
 */
export function createStore (config: Config, logger: Logger, primary?: IpcPeer, cache?: StateCache | null): StateStore {
  const log = logger.child({ component: 'state' })
  // A shared store that holds no state yet (a Redis restarted empty) is given the replica's cached one.
  const seed = cache?.atStart()?.state ?? null
  if (config.stateUrl !== undefined) {
    return new PostgresStore({
      logger: log,
      url: config.stateUrl,
      schema: config.stateSchema,
      resyncIntervalMs: config.resyncIntervalMs,
      budgets: budgetsFromConfig(config),
      seed
    })
  }
  if (usesRedis(config)) {
    const { options, cluster } = redisConnectionFromConfig(config)
    return new RedisStore({
      logger: log,
      connection: options,
      ...(cluster === undefined ? {} : { cluster }),
      keyPrefix: keyPrefixFromConfig(config),
      resyncIntervalMs: config.resyncIntervalMs,
      budgets: budgetsFromConfig(config),
      seed
    })
  }
  if (primary !== undefined && process.env[CLUSTER_STORE_ENV] === CLUSTER_STORE_IPC) {
    return new IpcStore({ logger: log, primary, resyncIntervalMs: config.resyncIntervalMs })
  }
  return new MemoryStore({ logger: log, stateFile: config.stateFile, budgets: budgetsFromConfig(config) })
}

/** True when the state lives in a store shared by replicas (Redis or PostgreSQL) rather than in this process (or its cluster primary). */
export function usesSharedStore (config: Config): boolean {
  return config.stateUrl !== undefined || usesRedis(config)
}

/**
 * The local copy of the last applied state (`stateCache`), for the shared
 * stores only: the embedded store's state file already is its last known
 * state, and a cluster worker's primary is never unreachable.
 */
export function stateCacheFor (config: Config, logger: Logger): StateCache | null {
  if (config.stateCache === undefined) return null
  const log = logger.child({ component: 'state' })
  if (!usesSharedStore(config)) {
    log.info({ stateCache: config.stateCache }, 'stateCache is unused with the embedded store (its state file, if any, already keeps the state)')
    return null
  }
  return new StateCache(config.stateCache, log)
}

export function budgetsFromConfig (config: Config): StoreBudgets {
  const { stateMaxBytes, flagMaxBytes, auditMaxEntries, auditMaxBytes } = config
  return { stateMaxBytes, flagMaxBytes, auditMaxEntries, auditMaxBytes }
}
