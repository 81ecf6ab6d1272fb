// `node bench/workers.js [N ...]`: passthrough through `--workers N` (default 1
// and 2), unpinned, since the workers must spread over every core. On a
// machine this size the load generator competes with the gateway for the same
// cores, so the figures say how the work spreads, not what a larger machine
// gives: see docs/performance.md for the method to run there.
import { mkdtempSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { runLoad } from './lib/load.js'
import { cpuNsOf, startNode, stop } from './lib/processes.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const counts = process.argv.slice(2).map(Number).filter((n) => n >= 1)
const duration = Number(process.env.BENCH_DURATION ?? 8)
const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 100)
const token = 'bench-admin-token-0123456789'
process.env.BENCH_PIN = '0'

const processes = []
try {
  const upstream = await startNode([join(root, 'bench/servers/upstream.js')])
  processes.push(upstream)
  const gateways = []
  for (const n of counts.length > 0 ? counts : [1, 2]) {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-workers-'))
    const gw = await startNode(['serve', '--upstream', `http://${upstream.address}`, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0',
      '--admin-token', token, '--state-file', join(dir, 'state.json'), '--log-level', 'warn', '--workers', String(n)], { command: join(root, 'bin/drawbridge.js') })
    processes.push(gw)
    // Every worker answers before the load starts (the primary's ready line comes with the first).
    for (let i = 0; i < 50; i++) await (await request(`http://${gw.address}/`)).body.dump()
    gateways.push({ n, gw, runs: [] })
  }
  console.log(`drawbridge --workers: ${cpus().length} cores, unpinned, wrk -t1, ${connections} connections, ${duration}s x ${rounds} rounds`)
  for (const g of gateways) await runLoad({ url: `http://${g.gw.address}/`, duration: 2, connections, headers: {} })
  for (let round = 0; round < rounds; round++) {
    for (const g of round % 2 === 0 ? gateways : [...gateways].reverse()) {
      const before = cpuNsOf(g.gw.pid)
      const result = await runLoad({ url: `http://${g.gw.address}/`, duration, connections, headers: {} })
      const cpuUs = (cpuNsOf(g.gw.pid) - before) / 1000 / result.requests
      g.runs.push({ ...result, cpuUs })
      console.log(`  round ${round + 1}: --workers ${g.n}: ${result.rps.toFixed(0)} req/s, p99 ${result.p99.toFixed(2)} ms, ${cpuUs.toFixed(1)} µs CPU/req (gateway processes)`)
    }
  }
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
  console.log('\n| --workers | req/s | p99 ms | CPU µs/req |\n| ---: | ---: | ---: | ---: |')
  for (const g of gateways) console.log(`| ${g.n} | ${mean(g.runs.map((r) => r.rps)).toFixed(0)} | ${mean(g.runs.map((r) => r.p99)).toFixed(2)} | ${mean(g.runs.map((r) => r.cpuUs)).toFixed(1)} |`)
} finally {
  await Promise.all(processes.map(stop))
}
