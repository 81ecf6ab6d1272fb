import { createRequire } from 'node:module'
import type { Redis, RedisOptions } from 'ioredis'
import { errors } from '../errors.js'

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

/**
 * Resolves when a client still making its first connection is ready; rejects
 * (503) when it fails or `timeoutMs` passes. `downReason` names why, when known.
 */
export async function firstConnection (client: Redis, timeoutMs: number, downReason: () => string | null): Promise<void> {
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

/** QUIT when connected (pending replies are read first), else drop the connection. */
export async function quit (client: Redis): Promise<void> {
  if (client.status === 'ready') {
    try {
      await client.quit()
      return
    } catch {}
  }
  client.disconnect()
}

/** ioredis stops reconnecting only if told to; should a client ever end on its own, start it over (unless its owner closed). */
export function restartIfEnded (client: Redis, closed: () => boolean): void {
  if (closed()) return
  setTimeout(() => {
    if (!closed() && client.status === 'end') client.connect().catch(() => {})
  }, 1000).unref()
}
