import { createRequire } from 'node:module'
import type { Redis, RedisOptions } from 'ioredis'

const require = createRequire(import.meta.url)

/**
 * Opens an ioredis client, loading ioredis on first use: a gateway on the
 * embedded store never pays its memory (it is a sizeable part of idle RSS).
 * ioredis is CommonJS, so a synchronous require keeps callers synchronous.
 */
export function newRedisClient (options: RedisOptions): Redis {
  const { Redis: RedisClient } = require('ioredis') as typeof import('ioredis')
  return new RedisClient(options)
}
