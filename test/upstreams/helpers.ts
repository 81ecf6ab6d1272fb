import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { request } from 'undici'
import type { RoutingView as Routing, UpstreamsView } from '../../src/cli/upstreams.js'
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.js'

/**
 * Helpers for the section 6 end-to-end tests: named upstreams that say who
 * they are (`x-upstream: <name>` and the name as the body) and record what
 * reached them, the real binary with `--upstreams`, and admin calls.
 */

export const TOKEN = 'upstreams-e2e-admin-token-0123456'
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

export interface Arrival {
  method: string
  url: string
  headers: IncomingMessage['headers']
  at: number
}

/** Returning true means the route answered the request itself. */
export type Route = (req: IncomingMessage, res: ServerResponse, name: string) => boolean

export interface NamedUpstream {
  name: string
  url: string
  port: number
  server: Server
  /** Every request that reached this upstream, in arrival order (health checks on `healthPath` excluded). */
  arrivals: Arrival[]
  /** Health checks seen (GETs of the health path). */
  healthChecks: () => number
  /** Answer for the health path: 200 by default. */
  healthStatus: number
  /** Closes the listener and every connection: the port then refuses. */
  stop: () => Promise<void>
  /** Listens again on the same port. */
  restart: () => Promise<void>
}

/**
 * An upstream named `name` on 127.0.0.1:<port 0>. Default answer: 200,
 * `x-upstream: <name>`, body `<name>` (request body read fully first).
 * `delayMs` delays every default answer.
 */
export async function namedUpstream (t: Test, name: string, options: { route?: Route, delayMs?: () => number, healthPath?: string } = {}): Promise<NamedUpstream> {
  const healthPath = options.healthPath ?? '/__health'
  let checks = 0
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'GET' && req.url === healthPath) {
      checks++
      res.writeHead(up.healthStatus, { 'x-upstream': name, 'content-type': 'text/plain' })
      res.end('health')
      return
    }
    up.arrivals.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, at: Date.now() })
    if (options.route?.(req, res, name) === true) return
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const answer = (): void => {
        const body = chunks.length === 0 ? name : `${name}:${Buffer.concat(chunks).toString('utf8')}`
        res.writeHead(200, { 'x-upstream': name, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) })
        res.end(body)
      }
      const delay = options.delayMs?.() ?? 0
      if (delay > 0) setTimeout(answer, delay)
      else answer()
    })
  }
  const server = createServer(handler)
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  let listening = true
  const up: NamedUpstream = {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    arrivals: [],
    healthChecks: () => checks,
    healthStatus: 200,
    async stop () {
      if (!listening) return
      listening = false
      const closed = new Promise<void>((resolve) => server.close(() => { resolve() }))
      server.closeAllConnections()
      await closed
    },
    async restart () {
      if (listening) return
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve() })
      })
      listening = true
    }
  }
  t.teardown(async () => { await up.stop() })
  return up
}

export interface GatewayOptions {
  /** Extra command-line settings. */
  args?: string[]
  /** Config file contents (JSON), passed with --config. */
  config?: Record<string, unknown>
  env?: Record<string, string>
}

/** `drawbridge serve --upstreams a=URL,b=URL --admin-token TOKEN --health-path /__health ...` on ports 0. */
export async function gatewayFor (t: Test, upstreams: NamedUpstream[], options: GatewayOptions = {}): Promise<SpawnedGateway> {
  const extra = options.args ?? []
  const args = ['--upstreams', upstreams.map((u) => `${u.name}=${u.url}`).join(','), '--admin-token', TOKEN, ...extra]
  // The upstreams answer health checks on /__health, kept out of their arrivals.
  if (!extra.includes('--health-path')) args.push('--health-path', '/__health')
  if (options.config !== undefined) {
    const file = join(mkdtempSync(join(tmpdir(), 'drawbridge-upstreams-')), 'drawbridge.json')
    writeFileSync(file, JSON.stringify(options.config))
    args.push('--config', file)
  }
  return await spawnGateway(t, args, options.env)
}

/** A Redis key prefix of its own for this file and run. */
export function redisPrefix (label: string): string {
  return `test:upstreams:${label}:${process.pid}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}:`
}

export interface AdminAnswer {
  status: number
  body: Record<string, unknown>
  ms: number
}

/** One admin call with the admin token, bounded to `timeoutMs`. */
export async function admin (gw: SpawnedGateway | string, method: string, path: string, body?: unknown, timeoutMs = 5000): Promise<AdminAnswer> {
  const address = typeof gw === 'string' ? gw : gw.admin
  const started = performance.now()
  const res = await request(`http://${address}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs)
  })
  const text = await res.body.text()
  let parsed: Record<string, unknown>
  try {
    parsed = text === '' ? {} : JSON.parse(text) as Record<string, unknown>
  } catch {
    parsed = { raw: text }
  }
  return { status: res.statusCode, body: parsed, ms: performance.now() - started }
}

export type { RoutingView as Routing, UpstreamsView } from '../../src/cli/upstreams.js'

export async function upstreamsView (gw: SpawnedGateway | string): Promise<UpstreamsView> {
  const answer = await admin(gw, 'GET', '/v1/upstreams')
  if (answer.status !== 200) throw new Error(`GET /v1/upstreams answered ${answer.status}: ${JSON.stringify(answer.body)}`)
  return answer.body as unknown as UpstreamsView
}

/** PATCH /v1/routing that must succeed; throws with the answer otherwise. */
export async function route (gw: SpawnedGateway | string, patch: Record<string, unknown>): Promise<Routing & { ms: number }> {
  const answer = await admin(gw, 'PATCH', '/v1/routing', patch)
  if (answer.status !== 200) throw new Error(`PATCH /v1/routing ${JSON.stringify(patch)} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
  return { ...(answer.body as unknown as Routing), ms: answer.ms }
}

export interface Hit {
  status: number
  upstream: string | undefined
  body: string
  headers: Record<string, string | string[] | undefined>
  ms: number
}

/** One gateway request on a fresh connection, bounded to `timeoutMs`; `upstream` is the x-upstream header. */
export async function hit (gw: SpawnedGateway | string, path = '/', options: { method?: string, headers?: Record<string, string>, body?: string, timeoutMs?: number, signal?: AbortSignal } = {}): Promise<Hit> {
  const address = typeof gw === 'string' ? gw : gw.gateway
  const started = performance.now()
  const res = await request(`http://${address}${path}`, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.headers,
    body: options.body,
    reset: true,
    signal: options.signal ?? AbortSignal.timeout(options.timeoutMs ?? 5000)
  })
  const body = await res.body.text()
  const upstream = res.headers['x-upstream']
  return { status: res.statusCode, upstream: typeof upstream === 'string' ? upstream : undefined, body, headers: res.headers, ms: performance.now() - started }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; returns whether it did. */
export async function waitFor (check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await sleep(everyMs)
  }
}
