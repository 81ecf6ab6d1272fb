import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { openCommandClient, quit, type RedisClient } from '../state/redis-client.js'
import { redisConnectionFromConfig } from '../state/redis-connection.js'
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import { emptyDict, setOwn } from '../state/dict.js'
import { PostgresUsage } from '../state/postgres-usage.js'
import { keyPrefixFromConfig, usesRedis } from '../state/redis-options.js'
import { writeFileAtomic } from '../state/state-file.js'

/**
 * Where flag usage (`flag\tvalue` → last served, epoch ms) is persisted, apart
 * from the shared state on purpose: usage changes with traffic, and writing it
 * into the versioned document would bump the version, re-send the whole state
 * to every replica and recompile every table, all for bookkeeping. Merges are
 * "keep the newest time", which is commutative, so replicas flushing at any
 * moment in any order converge.
 *
 * - Redis store: a hash `<prefix>flag-usage` next to the state, merged by a Lua script;
 * - PostgreSQL store: a table `<schema>.flag_usage` (state/postgres-usage.ts);
 * - embedded store with a state file: `<stateFile>.flag-usage.json`, written atomically;
 * - memory only: nothing to persist (usage lives as long as the process, like the flags).
 */
export interface UsageBackend {
  load (): Promise<Record<string, number>>
  save (entries: ReadonlyMap<string, number>): Promise<void>
  close (): Promise<void>
}

const MERGE_MAX = `
for i = 1, #ARGV, 2 do
  local current = redis.call('HGET', KEYS[1], ARGV[i])
  if (not current) or tonumber(current) < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  end
end
return 1`

/** Pairs per script call: bounded so one call never blocks Redis for long. */
const BATCH = 500

class RedisUsageBackend implements UsageBackend {
  private client: RedisClient | null = null
  constructor (private readonly config: Config, private readonly key: string, private readonly logger: Logger) {}

  /** Connected lazily: a process that never evaluates a flag opens no extra connection. */
  private async connection (): Promise<RedisClient> {
    if (this.client === null) {
      this.client = openCommandClient(redisConnectionFromConfig(this.config))
      this.client.on('error', (err: Error) => { this.logger.debug({ err }, 'flag usage connection error') })
    }
    if (this.client.status === 'wait') await this.client.connect()
    return this.client
  }

  async load (): Promise<Record<string, number>> {
    const raw = await (await this.connection()).hgetall(this.key)
    const out = emptyDict<number>()
    for (const [field, value] of Object.entries(raw)) setOwn(out, field, Number(value))
    return out
  }

  async save (entries: ReadonlyMap<string, number>): Promise<void> {
    if (entries.size === 0) return
    const client = await this.connection()
    let args: string[] = []
    for (const [field, at] of entries) {
      args.push(field, String(at))
      if (args.length >= BATCH * 2) {
        await client.eval(MERGE_MAX, 1, this.key, ...args)
        args = []
      }
    }
    if (args.length > 0) await client.eval(MERGE_MAX, 1, this.key, ...args)
  }

  async close (): Promise<void> {
    const client = this.client
    this.client = null
    if (client !== null) await quit(client)
  }
}

class FileUsageBackend implements UsageBackend {
  private chain: Promise<unknown> = Promise.resolve()
  constructor (private readonly path: string) {}

  async load (): Promise<Record<string, number>> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw err
    }
    const parsed = JSON.parse(text) as unknown
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {}
    const out = emptyDict<number>()
    for (const [field, value] of Object.entries(parsed)) if (typeof value === 'number') setOwn(out, field, value)
    return out
  }

  /** Read-merge-write, serialised within the process; workers sharing the file converge on later flushes. */
  save (entries: ReadonlyMap<string, number>): Promise<void> {
    if (entries.size === 0) return Promise.resolve()
    const run = this.chain.then(async () => {
      let merged: Record<string, number> = {}
      try { merged = await this.load() } catch { /* a corrupt file is rewritten from what we know */ }
      for (const [field, at] of entries) if ((merged[field] ?? 0) < at) merged[field] = at
      await writeFileAtomic(this.path, JSON.stringify(merged))
    })
    this.chain = run.catch(() => {})
    return run
  }

  async close (): Promise<void> {
    await this.chain
  }
}

const memoryBackend: UsageBackend = {
  load: async () => ({}),
  save: async () => {},
  close: async () => {}
}

export function createUsageBackend (config: Config, logger: Logger): UsageBackend {
  if (config.stateUrl !== undefined) return new PostgresUsage(config.stateUrl, config.stateSchema, logger)
  if (usesRedis(config)) return new RedisUsageBackend(config, `${keyPrefixFromConfig(config)}flag-usage`, logger)
  if (config.stateFile !== undefined) return new FileUsageBackend(`${resolve(config.stateFile)}.flag-usage.json`)
  return memoryBackend
}
