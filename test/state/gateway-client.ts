import { request } from 'undici'
import type { SpawnedGateway } from '../helpers/spawn-gateway.js'
import { percentile } from './helpers.js'

/** What the state tests ask of spawned gateways, over their real ports: admin writes, gateway answers, timings. */

export const ADMIN_TOKEN = 'replicas-test-admin-token-0123'

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }

/** PATCH /v1/maintenance; the status code and the body (a request that fails outright throws). */
export async function patchMaintenance (gw: SpawnedGateway, body: unknown, timeoutMs = 10_000): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await request(`http://${gw.admin}/v1/maintenance`, {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs
  })
  return { status: res.statusCode, body: await res.body.json() as Record<string, unknown> }
}

/** PATCH /v1/maintenance; only the status code. */
export async function patch (gw: SpawnedGateway, body: unknown, timeoutMs = 10_000): Promise<number> {
  return (await patchMaintenance(gw, body, timeoutMs)).status
}

/** GET /v1/maintenance: the state the gateway holds in memory. */
export async function maintenance (gw: SpawnedGateway): Promise<{ enabled: boolean, message: string | null }> {
  const res = await request(`http://${gw.admin}/v1/maintenance`, { headers: auth, headersTimeout: 5000 })
  return await res.body.json() as { enabled: boolean, message: string | null }
}

export interface Readiness { ready: boolean, reason?: string, version?: number }

/** GET /readyz: 200 with the version held, or 503 with the reason. */
export async function readyz (gw: SpawnedGateway, query = ''): Promise<{ status: number, body: Readiness }> {
  const res = await request(`http://${gw.admin}/readyz${query}`, { headersTimeout: 5000 })
  return { status: res.statusCode, body: await res.body.json() as Readiness }
}

/** A request through the gateway port; its status code (200 proxied, 503 maintenance). */
export async function gatewayStatus (gw: SpawnedGateway, path = '/page'): Promise<number> {
  const res = await request(`http://${gw.gateway}${path}`, { headersTimeout: 5000 })
  await res.body.dump()
  return res.statusCode
}

/** Milliseconds from `started` until `gw` answers `expected`, polling the gateway port itself. */
export async function timeUntil (gw: SpawnedGateway, expected: number, started: number, timeoutMs = 5000): Promise<number> {
  for (;;) {
    if (await gatewayStatus(gw) === expected) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`${gw.gateway} did not answer ${expected} within ${timeoutMs} ms`)
  }
}

/** Each admin port builds its API on its first request (src/admin/lazy-admin.ts): done before anything is timed. */
export async function warmAdmin (...gateways: SpawnedGateway[]): Promise<void> {
  for (const gw of gateways) await maintenance(gw)
}

export interface TrafficOptions {
  /** Paths asked in turn and the status each must get (default: `/page` proxied). */
  expected?: ReadonlyArray<readonly [path: string, status: number]>
  /** Pause between requests of one gateway's loop. */
  pauseMs?: number
}

/**
 * Requests through every gateway (a loop per gateway), back to back or
 * `pauseMs` apart, until `stop()`: what a user sees. Resolves with how many
 * got their expected status, and what did not.
 */
export function startTraffic (gateways: SpawnedGateway[], options: TrafficOptions = {}): { stop: () => Promise<{ served: number, failures: string[] }> } {
  const expected = options.expected ?? [['/page', 200]]
  const pauseMs = options.pauseMs ?? 0
  const state = { running: true }
  let served = 0
  const failures: string[] = []
  const loops = gateways.map(async (gw) => {
    while (state.running) {
      for (const [path, want] of expected) {
        try {
          const code = await gatewayStatus(gw, path)
          if (code === want) served++
          else failures.push(`${gw.gateway}${path}: ${code}`)
        } catch (err) {
          failures.push(`${gw.gateway}${path}: ${(err as Error).message}`)
        }
      }
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    }
  })
  return {
    stop: async () => {
      state.running = false
      await Promise.all(loops)
      return { served, failures }
    }
  }
}

/**
 * `count` maintenance toggles, alternating the replica written to; each timed
 * from the start of the PATCH on one replica until the other's gateway port
 * answers accordingly (polled while the PATCH runs: what is timed is the
 * change reaching the other replica, not the writer's audit write). Two
 * untimed toggles first, so each process has run the write path once.
 * Sorted latencies in ms.
 */
export async function toggleLatencies (a: SpawnedGateway, b: SpawnedGateway, count: number): Promise<number[]> {
  const latencies: number[] = []
  for (let i = -2; i < count; i++) {
    const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a]
    const enabled = i % 2 === 0
    const started = performance.now()
    const [written, seen] = await Promise.all([patch(writer, { enabled }), timeUntil(reader, enabled ? 503 : 200, started)])
    if (written !== 200) throw new Error(`toggle ${i}: PATCH answered ${written}`)
    if (i >= 0) latencies.push(seen)
  }
  return latencies.sort((x, y) => x - y)
}

export function summary (sorted: number[]): string {
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(1)} ms`
}
