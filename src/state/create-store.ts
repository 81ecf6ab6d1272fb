import type { Logger } from 'pino'
import type { IpcPeer } from '../ipc/ipc-peer.js'
import type { Config } from '../config/schema.js'
import { IpcStore } from './ipc-store.js'
import { MemoryStore } from './memory-store.js'
import { redisConnectionFromConfig } from './redis-connection.js'
import { keyPrefixFromConfig, usesRedis } from './redis-options.js'
import { RedisStore } from './redis-store.js'
import type { StateStore } from './types.js'
import type { StoreBudgets } from './budgets.js'

/**
 * Set by the cluster primary in a worker's environment when the primary holds
 * the embedded store itself: the worker then reaches it over IPC.
 */
export const CLUSTER_STORE_ENV = 'DRAWBRIDGE_CLUSTER_STORE'
export const CLUSTER_STORE_IPC = 'ipc'

/**
 * The store the config asks for: Redis when `redisUrl` (or `redis.sentinels`,
 * or Redis Cluster nodes) is set, else the embedded store, persisted to `stateFile` when given — or,
 * in a cluster worker whose primary announced the embedded store, that store
 * through the primary. Returns at once; the Redis store connects in the
 * background and its `load()` rejects while Redis is unreachable. Throws
 * ConfigError for a bad Redis setting or a corrupt/unreadable state file,
 * before anything listens.
 */
export function createStore (config: Config, logger: Logger, primary?: IpcPeer): StateStore {
  const log = logger.child({ component: 'state' })
  if (usesRedis(config)) {
    const { options, cluster } = redisConnectionFromConfig(config)
    return new RedisStore({
      logger: log,
      connection: options,
      ...(cluster === undefined ? {} : { cluster }),
      keyPrefix: keyPrefixFromConfig(config),
      resyncIntervalMs: config.resyncIntervalMs,
      budgets: budgetsFromConfig(config)
    })
  }
  if (primary !== undefined && process.env[CLUSTER_STORE_ENV] === CLUSTER_STORE_IPC) {
    return new IpcStore({ logger: log, primary, resyncIntervalMs: config.resyncIntervalMs })
  }
  return new MemoryStore({ logger: log, stateFile: config.stateFile, budgets: budgetsFromConfig(config) })
}

export function budgetsFromConfig (config: Config): StoreBudgets {
  const { stateMaxBytes, flagMaxBytes, auditMaxEntries, auditMaxBytes } = config
  return { stateMaxBytes, flagMaxBytes, auditMaxEntries, auditMaxBytes }
}
