import { request } from 'undici'
import type { SpawnedGateway } from '../helpers/spawn-gateway.js'
import { percentile } from './helpers.js'

/** Talking to spawned gateways in the replica tests: admin writes, gateway answers, timings. */

export const TOKEN = 'replicas-test-admin-token-0123'

/** PATCH /v1/maintenance; answers the status code and the body. */
export async function patchMaintenance (gw: SpawnedGateway, body: unknown): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await request(`http://${gw.admin}/v1/maintenance`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  return { status: res.statusCode, body: await res.body.json() as Record<string, unknown> }
}

export async function patch (gw: SpawnedGateway, body: unknown): Promise<number> {
  return (await patchMaintenance(gw, body)).status
}

/** The gateway's answer to an ordinary request: 200 proxied, 503 maintenance. */
export async function status (gw: SpawnedGateway, path = '/page'): Promise<number> {
  const res = await request(`http://${gw.gateway}${path}`, { headersTimeout: 5000 })
  await res.body.dump()
  return res.statusCode
}

export async function readyz (gw: SpawnedGateway, query = ''): Promise<{ status: number, body: { ready: boolean, reason?: string, version?: number } }> {
  const res = await request(`http://${gw.admin}/readyz${query}`)
  return { status: res.statusCode, body: await res.body.json() as { ready: boolean, reason?: string, version?: number } }
}

/**
 * Requests through every gateway in turn, over and over, until `stop()`:
 * each path must get its expected status. Answers how many did, and what did not.
 */
export function startTraffic (gws: SpawnedGateway[], expected: ReadonlyArray<readonly [path: string, status: number]> = [['/page', 200]]): { stop: () => Promise<{ served: number, failures: string[] }> } {
  const halt = new AbortController()
  const failures: string[] = []
  let served = 0
  const traffic = (async () => {
    while (!halt.signal.aborted) {
      for (const gw of gws) {
        for (const [path, want] of expected) {
          try {
            const code = await status(gw, path)
            if (code === want) served++
            else failures.push(`${gw.gateway}${path}: ${code}`)
          } catch (err) {
            failures.push(`${gw.gateway}${path}: ${(err as Error).message}`)
          }
        }
      }
    }
  })()
  return {
    stop: async () => {
      halt.abort()
      await traffic
      return { served, failures }
    }
  }
}

/** Milliseconds from `started` until `gw` answers `expected`, polling the gateway port itself. */
export async function timeUntil (gw: SpawnedGateway, expected: number, started: number, timeoutMs = 5000): Promise<number> {
  for (;;) {
    if (await status(gw) === expected) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`${gw.gateway} did not answer ${expected} within ${timeoutMs} ms`)
  }
}

/** Each admin port builds its API on its first request (src/admin/lazy-admin.ts): done before anything is timed. */
export async function warmAdmin (gws: SpawnedGateway[]): Promise<void> {
  for (const gw of gws) await (await request(`http://${gw.admin}/v1/maintenance`, { headers: { authorization: `Bearer ${TOKEN}` } })).body.dump()
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
