// `node bench/pair.js [pairs]`: the passthrough goal alone, for iterating on
// the request path. Drawbridge (1,000-CIDR allowlist, 100 flags, flags header)
// against Node's floor given the binary's V8 flags, back to back, alternating
// which goes first; prints req/s and CPU per request for each run and the
// ratios over all. BENCH_PLAIN=1 measures Drawbridge with no allowlist and no
// flags as well, to split the cost of the features from the core's, and
// BENCH_FLOOR_HEADERS=1 a floor that sends the upstream the same extra headers
// Drawbridge does (X-Forwarded-*, and the flags header as explain reports it).
// BENCH_HISTORY=1 adds a second passthrough gateway ('passH') treated as the
// full bench treats its own: first run under other allowlists, then sent the
// allowlist again before each of its runs; BENCH_HISTORY=repatch only the latter.
// BENCH_DRAWBRIDGE_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`) is passed
// to the gateways, BENCH_BASELINE_NODE_ARGS to the floor.
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runLoad } from './lib/load.js'
import { cpuNsOf, startNode, stop } from './lib/processes.js'
import { allowlist, benchFlags } from './lib/fixtures.js'
import { admin, binaryFlags, headersSentUpstream, startDrawbridge, userHeader as headers } from './lib/drawbridge-admin.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pairs = Number(process.argv[2] ?? 4)
const duration = Number(process.env.BENCH_DURATION ?? 6)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const baselineArgs = (process.env.BENCH_BASELINE_NODE_ARGS ?? binaryFlags.join(' ')).split(' ').filter(Boolean)
const gatewayArgs = (process.env.BENCH_DRAWBRIDGE_NODE_ARGS ?? '').split(' ').filter(Boolean)

function startGateway (upstream, extra) {
  return startDrawbridge(upstream, extra, gatewayArgs.length === 0 ? undefined : [...binaryFlags, ...gatewayArgs])
}

const processes = []
try {
  const upstream = await startNode([join(root, 'bench/servers/upstream.js')])
  processes.push(upstream)
  const floor = await startNode([...baselineArgs, join(root, 'bench/servers/node-floor.js'), `http://${upstream.address}`])
  floor.stopSignal = 'SIGTERM'
  processes.push(floor)
  const pass = await startGateway(upstream.address, ['--flags-identity', 'header:x-user-id'])
  processes.push(pass)
  for (const flag of benchFlags(100)) await admin(pass, 'PUT', `/v1/flags/${flag.key}`, flag.body)
  await admin(pass, 'PATCH', '/v1/maintenance', { enabled: true, allow: allowlist(1000) })
  const contenders = [{ id: 'pass', gw: pass }, { id: 'floor', gw: floor }]
  if (process.env.BENCH_FLOOR_HEADERS === '1') {
    const { flags, list: extra } = await headersSentUpstream(pass, headers)
    const floorHeaders = await startNode([...baselineArgs, join(root, 'bench/servers/node-floor.js'), `http://${upstream.address}`], { env: { FLOOR_EXTRA_HEADERS: JSON.stringify(extra) } })
    floorHeaders.stopSignal = 'SIGTERM'
    processes.push(floorHeaders)
    contenders.push({ id: 'floorH', gw: floorHeaders })
    console.log(`floorH: Node's floor sending the same ${flags.length}-byte flags header and X-Forwarded-*`)
  }
  if (process.env.BENCH_PLAIN === '1') {
    const plain = await startGateway(upstream.address, [])
    processes.push(plain)
    contenders.push({ id: 'plain', gw: plain })
  }
  if (process.env.BENCH_HISTORY === '1' || process.env.BENCH_HISTORY === 'repatch') {
    // Against 'pass' (no history), it tells what a gateway's past costs.
    const history = await startGateway(upstream.address, ['--flags-identity', 'header:x-user-id'])
    processes.push(history)
    for (const flag of benchFlags(100)) await admin(history, 'PUT', `/v1/flags/${flag.key}`, flag.body)
    for (const size of process.env.BENCH_HISTORY === '1' ? [1000, 10_000, 1, 1000, 10_000, 1] : []) {
      await admin(history, 'PATCH', '/v1/maintenance', { enabled: true, allow: allowlist(size) })
      await runLoad({ url: `http://${history.address}/`, duration: 4, connections, headers })
    }
    await admin(history, 'PATCH', '/v1/maintenance', { enabled: true, allow: allowlist(1000) })
    // As the full bench does too: the allowlist set again (a new state version) before each of its runs.
    contenders.push({ id: 'passH', gw: history, before: () => admin(history, 'PATCH', '/v1/maintenance', { enabled: true, allow: allowlist(1000) }) })
  }
  console.log(`pair: ${pairs} alternations of ${duration}s, ${connections} connections; floor under node ${baselineArgs.join(' ')}`)
  for (const c of contenders) { c.runs = []; await runLoad({ url: `http://${c.gw.address}/`, duration: 2, connections, headers }) }
  for (let i = 0; i < pairs; i++) {
    for (const c of i % 2 === 0 ? contenders : [...contenders].reverse()) {
      if (c.before !== undefined) await c.before()
      const before = cpuNsOf(c.gw.pid)
      const result = await runLoad({ url: `http://${c.gw.address}/`, duration, connections, headers })
      const cpuUs = (cpuNsOf(c.gw.pid) - before) / 1000 / result.requests
      c.runs.push({ rps: result.rps, cpuUs, p99: result.p99 })
      console.log(`  ${String(i + 1).padStart(2)} ${c.id.padEnd(6)} ${result.rps.toFixed(0).padStart(6)} req/s  ${cpuUs.toFixed(1).padStart(5)} µs CPU/req  p99 ${result.p99.toFixed(2)} ms${result.errors ? '  errors ' + result.errors : ''}`)
    }
  }
  const total = (c, f) => c.runs.reduce((t, r) => t + f(r), 0)
  const [passC, floorC] = contenders
  for (const c of contenders) {
    if (c === floorC) continue
    console.log(`${c.id} / floor: req/s ${(total(c, (r) => r.rps) / total(floorC, (r) => r.rps)).toFixed(2)}x, ` +
      `CPU/req ${(total(c, (r) => r.cpuUs) / total(floorC, (r) => r.cpuUs)).toFixed(2)}x, p99 ${(total(c, (r) => r.p99) / total(floorC, (r) => r.p99)).toFixed(2)}x`)
  }
  void passC
} finally {
  for (const p of processes.reverse()) await stop(p)
}
