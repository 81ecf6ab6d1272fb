import { Pool } from 'undici'
import type { Config } from '../config/schema.js'
import { namedUpstreams } from '../config/upstream-list.js'
import type { UpstreamsHandle } from '../context.js'
import { probe } from './health-monitor.js'

/**
 * The upstreams as the config names them, for an admin app running without
 * a gateway in the process (built alone, as tests do): nothing in flight, no
 * scheduled checks, and a switch's check made over a connection of its own.
 */
export function standaloneUpstreams (config: Config): UpstreamsHandle {
  const list = namedUpstreams(config)
  return {
    names: list.map((u) => u.name),
    held: 0,
    problem: null,
    status: () => list.map((u) => ({ name: u.name, url: u.url, healthy: null, checkedAt: null, inFlight: 0 })),
    async check (name) {
      const upstream = list.find((u) => u.name === name)
      if (upstream === undefined) return { ok: false, reason: `no upstream named "${name}"` }
      const url = new URL(upstream.url)
      const pool = new Pool(url.origin, { connections: 1 })
      try {
        const base = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname
        return await probe(pool, { path: base + config.healthPath, host: url.host, timeoutMs: config.upstreamTimeoutMs })
      } finally {
        await pool.destroy()
      }
    }
  }
}
