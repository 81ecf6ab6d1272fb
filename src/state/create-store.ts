import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import { MemoryStore } from './memory-store.js'
import { keyPrefixFromConfig, redisOptionsFromConfig, usesRedis } from './redis-options.js'
import { RedisStore } from './redis-store.js'
import type { StateStore } from './types.js'

/**
 * The store the config asks for: Redis when `redisUrl` (or `redis.sentinels`)
 * is set, else the embedded store, persisted to `stateFile` when given.
 * Returns at once; the Redis store connects in the background and its `load()`
 * rejects while Redis is unreachable. Throws ConfigError for a bad Redis
 * setting or a corrupt/unreadable state file, before anything listens.
 */
export function createStore (config: Config, logger: Logger): StateStore {
  const log = logger.child({ component: 'state' })
  if (usesRedis(config)) {
    return new RedisStore({
      logger: log,
      connection: redisOptionsFromConfig(config),
      keyPrefix: keyPrefixFromConfig(config),
      resyncIntervalMs: config.resyncIntervalMs
    })
  }
  return new MemoryStore({ logger: log, stateFile: config.stateFile })
}
