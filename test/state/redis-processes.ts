import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis, type RedisOptions } from 'ioredis'
import type { Test } from 'tap'
import { freePort, killProcess, REDIS_SERVER } from './helpers.js'

/**
 * Real Redis processes for the topology tests (TLS, Sentinel, Cluster): each
 * on free ports picked at run time, in a temp dir of its own, killed (and the
 * dir removed) at teardown.
 */

export const run = promisify(execFile)

export function tempDir (t: Test, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `drawbridge-${label}-`))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

export interface RedisProcess {
  port: number
  proc: ChildProcess
  /** Everything it logged so far. */
  log: () => string
}

/**
 * Starts `redis-server <args>` (a config file or options, `--sentinel` too) and
 * resolves once it logs `ready`; killed at teardown. Logs go to stdout.
 */
export async function startRedis (t: Test, port: number, args: string[], ready: RegExp = /Ready to accept connections/): Promise<RedisProcess> {
  const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => killProcess(proc))
  let out = ''
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { done(new Error(`redis-server ${args.join(' ')} not ready after 10 s:\n${out}`)) }, 10_000)
    const check = (): void => { if (ready.test(out)) done(null) }
    const done = (err: Error | null): void => {
      clearTimeout(timer)
      proc.stdout?.off('data', check)
      proc.off('exit', exited)
      if (err === null) resolve()
      else reject(err)
    }
    const exited = (code: number | null): void => { done(new Error(`redis-server exited with ${String(code)}:\n${out}`)) }
    proc.stdout?.on('data', check)
    proc.once('exit', exited)
  })
  return { port, proc, log: () => out }
}

/** The common options of a throwaway server: loopback only, nothing written to disk. */
export function baseArgs (port: number, dir: string): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]
}

/** A plain client to a test server, disconnected at teardown. */
export async function client (t: Test, options: RedisOptions): Promise<Redis> {
  const redis = new Redis({ host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 200, ...options })
  redis.on('error', () => {})
  await redis.connect()
  t.teardown(() => { redis.disconnect() })
  return redis
}

/** Polls until `check` holds; throws naming `what` after `timeoutMs`. */
export async function until (what: string, check: () => Promise<boolean>, timeoutMs = 10_000, everyMs = 100): Promise<number> {
  const started = performance.now()
  for (;;) {
    try {
      if (await check()) return performance.now() - started
    } catch {}
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/**
 * A TCP proxy in front of one Redis, so a test can cut it off the network
 * without touching the process: `blackhole()` keeps every connection open and
 * accepts new ones but forwards nothing either way, as a network that drops
 * packets does (no reset, no FIN). `heal()` closes what was cut (those
 * streams lost bytes) and forwards again.
 */
export class TcpProxy {
  private silent = false
  private readonly sockets = new Set<Socket>()

  private constructor (private readonly server: Server, readonly port: number) {}

  static async start (t: Test, targetPort: number): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null
    const server = createServer((downstream) => { proxy?.accept(downstream, targetPort) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const address = server.address()
    proxy = new TcpProxy(server, typeof address === 'object' && address !== null ? address.port : 0)
    t.teardown(() => proxy?.close())
    return proxy
  }

  blackhole (): void {
    this.silent = true
  }

  heal (): void {
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
    this.silent = false
  }

  async close (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => { resolve() }))
  }

  private accept (downstream: Socket, targetPort: number): void {
    this.track(downstream)
    downstream.setNoDelay(true)
    if (this.silent) {
      // Accepted by the kernel, never answered.
      downstream.on('data', () => {})
      return
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort })
    this.track(upstream)
    upstream.setNoDelay(true)
    downstream.on('data', (chunk: Buffer) => { if (!this.silent) upstream.write(chunk) })
    upstream.on('data', (chunk: Buffer) => { if (!this.silent) downstream.write(chunk) })
    // A closed or refused side closes the other, as the real peer would.
    upstream.on('close', () => { if (!this.silent) downstream.destroy() })
    downstream.on('close', () => { upstream.destroy() })
  }

  private track (socket: Socket): void {
    this.sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => { this.sockets.delete(socket) })
  }
}

export { freePort }
