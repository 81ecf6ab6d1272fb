import { request } from 'undici'
import type { SpawnedGateway } from '../helpers/spawn-gateway.js'

/** What the state tests ask of a spawned gateway, over its real ports. */

export const ADMIN_TOKEN = 'replicas-test-admin-token-0123'

const auth = { authorization: `Bearer ${ADMIN_TOKEN}` }

/** PATCH /v1/maintenance; the status code (a request that fails outright throws). */
export async function patchMaintenance (gw: SpawnedGateway, body: unknown, timeoutMs = 10_000): Promise<number> {
  const res = await request(`http://${gw.admin}/v1/maintenance`, {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs
  })
  await res.body.dump()
  return res.statusCode
}

/** GET /v1/maintenance: the state the gateway holds in memory. */
export async function maintenance (gw: SpawnedGateway): Promise<{ enabled: boolean, message: string | null }> {
  const res = await request(`http://${gw.admin}/v1/maintenance`, { headers: auth, headersTimeout: 5000 })
  return await res.body.json() as { enabled: boolean, message: string | null }
}

/** GET /readyz: 200 with the version held, or 503 with the reason. */
export async function readyz (gw: SpawnedGateway): Promise<{ status: number, version?: number, reason?: string }> {
  const res = await request(`http://${gw.admin}/readyz`, { headersTimeout: 5000 })
  const body = await res.body.json() as { version?: number, reason?: string }
  return { status: res.statusCode, ...body }
}

/** A request through the gateway port; its status code. */
export async function gatewayStatus (gw: SpawnedGateway, path = '/page'): Promise<number> {
  const res = await request(`http://${gw.gateway}${path}`, { headersTimeout: 5000 })
  await res.body.dump()
  return res.statusCode
}

/** Milliseconds until `gw` answers `expected`, polling the gateway port itself. */
export async function timeUntil (gw: SpawnedGateway, expected: number, started: number, timeoutMs = 5000): Promise<number> {
  for (;;) {
    if (await gatewayStatus(gw) === expected) return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`${gw.gateway} did not answer ${expected} within ${timeoutMs} ms`)
  }
}

/** Builds each admin port's API (it is built on its first request), so what is timed next is propagation. */
export async function warmAdmin (...gateways: SpawnedGateway[]): Promise<void> {
  for (const gw of gateways) await maintenance(gw)
}

/**
 * Requests through every gateway, back to back (or `pauseMs` apart), until
 * stopped: what a user sees. Resolves with how many were served and what failed.
 */
export function traffic (gateways: SpawnedGateway[], path = '/page', pauseMs = 0): { stop: () => Promise<{ served: number, failures: string[] }> } {
  const state = { running: true }
  let served = 0
  const failures: string[] = []
  const loops = gateways.map(async (gw) => {
    while (state.running) {
      try {
        const code = await gatewayStatus(gw, path)
        if (code === 200) served++
        else failures.push(`${gw.gateway}: ${code}`)
      } catch (err) {
        failures.push(`${gw.gateway}: ${(err as Error).message}`)
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
