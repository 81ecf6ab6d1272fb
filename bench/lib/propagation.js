import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'

/**
 * Two replicas on one Redis: toggle maintenance on A's admin port and time how
 * long until B's gateway reports it, 100 times. Skipped when Redis is not reachable.
 */
export async function measurePropagation ({ root, upstream, token, startNode, processes, count = 100 }) {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-redis-'))
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({ redis: { keyPrefix: `drawbridge-bench-${process.pid}-${Date.now()}:` } }))
  const args = (i) => [join(root, 'bin/drawbridge.js'), 'serve', '--config', config, '--upstream', `http://${upstream}`,
    '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--admin-token', token, '--redis-url', redisUrl, '--log-level', 'warn']
  let a, b
  try {
    a = await startNode(args(0))
    processes.push(a)
    b = await startNode(args(1))
    processes.push(b)
  } catch (err) {
    return { skipped: `replicas on ${redisUrl} did not start (${err.message.split('\n')[0]})` }
  }
  const latencies = []
  for (let i = 0; i < count; i++) {
    const enabled = i % 2 === 0
    const started = performance.now()
    const res = await request(`http://${a.admin}/v1/maintenance`, {
      method: 'PATCH',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled })
    })
    await res.body.dump()
    for (;;) {
      const status = await request(`http://${b.address}/__drawbridge/status`)
      const body = await status.body.json()
      if (body.maintenance === enabled) break
      if (performance.now() - started > 5000) throw new Error('toggle did not propagate within 5 s')
    }
    latencies.push(performance.now() - started)
  }
  latencies.sort((x, y) => x - y)
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.ceil(p / 100 * latencies.length) - 1)]
  return { count, p50: pct(50), p99: pct(99), max: latencies[latencies.length - 1] }
}
