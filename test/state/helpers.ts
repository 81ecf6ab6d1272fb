import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:net'
import { Value } from '../../src/input/typebox.js'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { ConfigSchema, type Config } from '../../src/config/schema.js'
import { createLogger } from '../../src/logger.js'
import type { SharedState } from '../../src/state/types.js'
import type { StateHolder } from '../../src/state/state-holder.js'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'

export const silentLogger = createLogger('silent')

/** A full Config with schema defaults, as the loader would produce. */
export function testConfig (partial: Partial<Config> = {}): Config {
  const config = Value.Default(ConfigSchema, structuredClone(partial)) as Config
  if (!Value.Check(ConfigSchema, config)) throw new Error('test config does not match the schema')
  return config
}

/** A key prefix no other test file (or run) uses. */
export function uniquePrefix (label: string): string {
  return `drawbridge-test:${label}:${randomUUID()}:`
}

/** A plain client for poking at Redis behind the store's back; closed and prefix cleaned on teardown. */
export async function rawRedis (t: Test, url: string, cleanPrefix?: string): Promise<Redis> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 })
  await client.connect()
  t.teardown(async () => {
    if (cleanPrefix !== undefined && client.status === 'ready') {
      const keys = await client.keys(`${cleanPrefix}*`)
      if (keys.length > 0) await client.del(...keys)
    }
    client.disconnect()
  })
  return client
}

/** Resolves when `holder` holds a state for which `predicate` is true. */
export function waitForState (holder: StateHolder, predicate: (s: SharedState) => boolean, timeoutMs = 2000): Promise<SharedState> {
  return new Promise((resolve, reject) => {
    let off: (() => void) | null = null
    const timer = setTimeout(() => {
      off?.()
      reject(new Error(`state not reached within ${timeoutMs} ms (holding version ${holder.current?.version ?? 'none'})`))
    }, timeoutMs)
    let settled = false
    off = holder.onChange((s) => {
      if (settled || !predicate(s)) return
      settled = true
      clearTimeout(timer)
      // onChange may call back synchronously, before `off` is assigned.
      queueMicrotask(() => off?.())
      resolve(s)
    })
  })
}

/** Polls `check` until it returns true. */
export async function eventually (check: () => boolean | Promise<boolean>, timeoutMs = 2000, what = 'condition'): Promise<number> {
  const start = performance.now()
  while (!(await check())) {
    if (performance.now() - start > timeoutMs) throw new Error(`${what} not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return performance.now() - start
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

/** A private redis-server, so a test can kill it without disturbing anyone else. `extra` options come last (e.g. `--dir` to keep a dump across restarts). */
export async function startRedisServer (port: number, extra: string[] = []): Promise<ChildProcess> {
  const proc = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => { fail(new Error(`redis-server did not start: ${out}`)) }, 5000)
    const fail = (err: Error): void => { clearTimeout(timer); proc.kill('SIGKILL'); reject(err) }
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    proc.once('error', fail)
    proc.once('exit', (code) => { fail(new Error(`redis-server exited with ${code}: ${out}`)) })
  })
  proc.removeAllListeners('exit')
  proc.stdout?.resume()
  return proc
}

export async function killProcess (proc: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return
  await new Promise<void>((resolve) => {
    proc.once('exit', () => { resolve() })
    proc.kill(signal)
  })
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i] as number
}
