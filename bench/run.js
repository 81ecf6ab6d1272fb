// `npm run bench`: the upstream, a bare @fastify/http-proxy, a bare Fastify
// route and Drawbridge side by side in one run, alternating rounds to cancel
// drift, with ratios against the baselines. Compare ratios within a run only.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { runLoad, hasWrk, hasAb } from './lib/load.js'
import { startNode, stop, rssOf, cpuNsOf, pinning } from './lib/processes.js'
import { hasHaproxy, hasNginx, startHaproxy, startNginx } from './lib/c-proxies.js'
import { allowlist, benchFlags } from './lib/fixtures.js'
import { measurePropagation } from './lib/propagation.js'
import { admin, startDrawbridge, token, userHeader } from './lib/drawbridge-admin.js'
import { idleRss } from './lib/idle-rss.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const duration = Number(process.env.BENCH_DURATION ?? 6)
const rounds = Number(process.env.BENCH_ROUNDS ?? 2)
// Back-to-back alternations per goal pair (see goalPairs below).
const pairRounds = Number(process.env.BENCH_PAIRS ?? 4)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const streamBytes = Number(process.env.BENCH_STREAM_BYTES ?? 1024 ** 3)
const processes = []

// BENCH_DRAWBRIDGE_NODE_ARGS runs the gateways under `node <args>` instead of through the binary's shebang.
const drawbridgeNodeArgs = process.env.BENCH_DRAWBRIDGE_NODE_ARGS?.split(' ').filter(Boolean)

async function startGateway (upstream, extra = [], { keep = true } = {}) {
  const gw = await startDrawbridge(upstream, extra, drawbridgeNodeArgs)
  if (keep) processes.push(gw)
  return gw
}

/** HEAD's load tool (see load.js): ab keeps connections alive, undici closes one per HEAD. */
const headTool = hasAb ? 'ab' : 'undici'

function fmt (n, digits = 0) { return Number.isFinite(n) ? n.toFixed(digits) : 'n/a' }

async function main () {
  console.log(`drawbridge bench: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ` +
    `${hasWrk ? 'wrk' : 'autocannon'} (HEAD: ${headTool}), ${connections} connections, ${duration}s x ${rounds} rounds, ` +
    (pinning ? 'servers pinned to core 0, load to core 1' : 'unpinned'))

  const upstream = await startNode([join(root, 'bench/servers/upstream.js')])
  // The baselines run as their users run them (`node app.js`); BENCH_BASELINE_NODE_ARGS
  // gives them V8 flags too, e.g. the binary's own, to compare like with like.
  const baselineArgs = (process.env.BENCH_BASELINE_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const bare = await startNode([...baselineArgs, join(root, 'bench/servers/bare-proxy.js'), `http://${upstream.address}`])
  const fixed = await startNode([...baselineArgs, join(root, 'bench/servers/bare-fastify.js'), join(root, 'static/maintenance.html')])
  const floor = await startNode([...baselineArgs, join(root, 'bench/servers/node-floor.js'), `http://${upstream.address}`])
  processes.push(upstream, bare, fixed, floor)
  const page = readFileSync(join(root, 'static/maintenance.html'))
  const nginx = hasNginx ? await startNginx(upstream.address, page) : null
  const haproxy = hasHaproxy ? await startHaproxy(upstream.address) : null
  for (const p of [nginx, haproxy]) if (p !== null) processes.push(p)

  // Idle RSS first, while nothing else runs: fresh processes of each, medians of five starts.
  const idle = await idleRss([
    { id: 'drawbridge', start: () => startGateway(upstream.address, ['--flags-identity', 'header:x-user-id'], { keep: false }) },
    { id: 'bareProxy', start: () => startNode([...baselineArgs, join(root, 'bench/servers/bare-proxy.js'), `http://${upstream.address}`]) }
  ])
  const pass = await startGateway(upstream.address, ['--flags-identity', 'header:x-user-id'])
  const maint = await startGateway(upstream.address)

  for (const flag of benchFlags(100)) await admin(pass, 'PUT', `/v1/flags/${flag.key}`, flag.body)
  const allow = { one: allowlist(1), thousand: allowlist(1000), tenThousand: allowlist(10_000) }
  await admin(maint, 'PATCH', '/v1/maintenance', { enabled: true, message: 'Back soon', retryAfter: 300 })

  // Each scenario: an id (ratios are computed by id), a URL, and the state to set before it runs (the allowlist size).
  const json = { ...userHeader, accept: 'application/json' }
  const scenarios = [
    { id: 'upstream', name: 'upstream (direct)', url: `http://${upstream.address}/`, pid: upstream.pid },
    { id: 'bareProxy', name: 'bare @fastify/http-proxy', url: `http://${bare.address}/`, pid: bare.pid },
    { id: 'floor', name: "Node's floor (node:http + undici Pool)", url: `http://${floor.address}/`, pid: floor.pid },
    nginx && { id: 'nginx', name: 'nginx proxy_pass (keepalive)', url: `http://${nginx.proxy}/`, pid: nginx.pid },
    haproxy && { id: 'haproxy', name: 'HAProxy (http-reuse)', url: `http://${haproxy.address}/`, pid: haproxy.pid },
    { id: 'pass', name: 'drawbridge pass, 1k allow + 100 flags', url: `http://${pass.address}/`, pid: pass.pid, allow: allow.thousand },
    { id: 'pass10k', name: 'drawbridge pass, 10k allow', url: `http://${pass.address}/`, pid: pass.pid, allow: allow.tenThousand },
    { id: 'pass1', name: 'drawbridge pass, 1 allow', url: `http://${pass.address}/`, pid: pass.pid, allow: allow.one },
    { id: 'fixed', name: 'bare fastify fixed 503', url: `http://${fixed.address}/`, pid: fixed.pid },
    nginx && { id: 'nginxStatic', name: 'nginx static 503', url: `http://${nginx.static}/`, pid: nginx.pid },
    { id: 'maint', name: 'drawbridge maintenance 503', url: `http://${maint.address}/`, pid: maint.pid },
    { id: 'fixedJson', name: 'bare fastify fixed 503, JSON', url: `http://${fixed.address}/`, pid: fixed.pid, headers: json },
    { id: 'maintJson', name: 'drawbridge maintenance 503, JSON', url: `http://${maint.address}/`, pid: maint.pid, headers: json },
    { id: 'fixedHead', name: `bare fastify fixed 503, HEAD (${headTool})`, url: `http://${fixed.address}/`, pid: fixed.pid, method: 'HEAD' },
    { id: 'maintHead', name: `drawbridge maintenance 503, HEAD (${headTool})`, url: `http://${maint.address}/`, pid: maint.pid, method: 'HEAD' }
  ].filter(Boolean)
  const load = (s, seconds) => runLoad({ url: s.url, duration: seconds, connections, headers: s.headers ?? userHeader, method: s.method })
  const samples = new Map(scenarios.map((s) => [s.id, []]))
  const byId = (id) => scenarios.find((s) => s.id === id)
  /** One measured run: req/s and latency from the load tool, CPU per request from the server's schedstat. */
  async function measure (s, seconds, label) {
    if (s.allow) await admin(pass, 'PATCH', '/v1/maintenance', { enabled: true, allow: s.allow })
    const cpuBefore = cpuNsOf(s.pid)
    const result = await load(s, seconds)
    const cpuUs = (cpuNsOf(s.pid) - cpuBefore) / 1000 / result.requests
    const sample = { ...result, cpuUs, rss: rssOf(s.pid) }
    samples.get(s.id).push(sample)
    console.log(`  ${label}: ${s.name.padEnd(44)} ${fmt(result.rps).padStart(6)} req/s  p99 ${fmt(result.p99, 2).padStart(6)} ms  ${fmt(cpuUs, 1).padStart(6)} µs CPU/req${result.errors ? '  errors: ' + result.errors : ''}`)
    return sample
  }

  for (const s of scenarios) { // warm-up: JIT, pools, page cache
    if (s.allow) await admin(pass, 'PATCH', '/v1/maintenance', { enabled: true, allow: s.allow })
    await load(s, 2)
  }

  for (let round = 0; round < rounds; round++) {
    for (const s of round % 2 === 0 ? scenarios : [...scenarios].reverse()) await measure(s, duration, `round ${round + 1}`)
  }

  // The goal ratios compare neighbours in time: on a shared machine req/s drifts
  // by more than the differences measured, so each pair runs back to back,
  // alternating which goes first, and its ratio is taken over those runs only.
  const goalPairs = [['pass', 'floor'], ['pass', 'bareProxy'], ['maint', 'fixed'], ['maintJson', 'fixedJson'], ['maintHead', 'fixedHead'], ['pass10k', 'pass1']]
  const paired = {}
  for (const [a, b] of goalPairs) {
    const runs = { [a]: [], [b]: [] }
    for (let i = 0; i < pairRounds; i++) {
      for (const id of i % 2 === 0 ? [a, b] : [b, a]) runs[id].push(await measure(byId(id), duration, `pair ${i + 1} `))
    }
    const sum = (xs, f) => xs.reduce((t, x) => t + f(x), 0)
    paired[`${a}/${b}`] = {
      rps: sum(runs[a], (x) => x.rps) / sum(runs[b], (x) => x.rps),
      p99: sum(runs[a], (x) => x.p99) / sum(runs[b], (x) => x.p99),
      cpu: sum(runs[a], (x) => x.cpuUs) / sum(runs[b], (x) => x.cpuUs)
    }
  }

  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
  const table = scenarios.map((s) => {
    const xs = samples.get(s.id)
    return { id: s.id, name: s.name, runs: xs.length, rps: mean(xs.map((x) => x.rps)), p50: mean(xs.map((x) => x.p50)), p99: mean(xs.map((x) => x.p99)), cpuUsPerRequest: mean(xs.map((x) => x.cpuUs)), rssMB: Math.max(...xs.map((x) => x.rss)) / 2 ** 20 }
  })
  const row = (id) => table.find((r) => r.id === id)
  const vs = (a, b) => (row(a) && row(b) ? row(a).rps / row(b).rps : null)
  const ratios = {
    passVsNodeFloor: paired['pass/floor'].rps,
    passCpuVsNodeFloor: paired['pass/floor'].cpu,
    passP99VsNodeFloor: paired['pass/floor'].p99,
    passVsBareProxy: paired['pass/bareProxy'].rps,
    passP99VsBareProxy: paired['pass/bareProxy'].p99,
    passVsNginx: vs('pass', 'nginx'),
    passVsHaproxy: vs('pass', 'haproxy'),
    maintenanceVsBareFastify: paired['maint/fixed'].rps,
    maintenanceCpuVsBareFastify: paired['maint/fixed'].cpu,
    maintenanceJsonVsBareFastify: paired['maintJson/fixedJson'].rps,
    maintenanceJsonCpuVsBareFastify: paired['maintJson/fixedJson'].cpu,
    maintenanceHeadVsBareFastify: paired['maintHead/fixedHead'].rps,
    maintenanceHeadCpuVsBareFastify: paired['maintHead/fixedHead'].cpu,
    maintenanceVsNginxStatic: vs('maint', 'nginxStatic'),
    allow10kVs1: paired['pass10k/pass1'].rps
  }

  // Streaming: download through the gateway, sampling its RSS.
  await admin(pass, 'PATCH', '/v1/maintenance', { enabled: false })
  const before = rssOf(pass.pid)
  let peak = before
  const sampler = setInterval(() => { peak = Math.max(peak, rssOf(pass.pid)) }, 50)
  const started = Date.now()
  const res = await request(`http://${pass.address}/big?bytes=${streamBytes}`)
  let received = 0
  for await (const chunk of res.body) received += chunk.length
  clearInterval(sampler)
  const stream = { bytes: received, seconds: (Date.now() - started) / 1000, rssGrowthMB: (peak - before) / 2 ** 20 }

  const propagation = await measurePropagation({ root, upstream: upstream.address, token, startNode, processes })

  console.log('\n| scenario | runs | req/s | p50 ms | p99 ms | CPU µs/req | RSS MB |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of table) console.log(`| ${r.name} | ${r.runs} | ${fmt(r.rps)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.cpuUsPerRequest, 1)} | ${fmt(r.rssMB, 1)} |`)
  const verdict = (ok) => (ok ? 'met' : 'MISSED')
  const x = (r, digits = 2) => `${fmt(r, digits)}x`
  console.log(`\n| target (paired runs: ${pairRounds} each, alternating) | req/s | CPU/req | p99 | goal | |\n| --- | ---: | ---: | ---: | --- | --- |`)
  const goal = (label, pair, text, ok) => console.log(`| ${label} | ${x(paired[pair].rps)} | ${x(paired[pair].cpu)} | ${x(paired[pair].p99)} | ${text} | ${verdict(ok)} |`)
  goal('passthrough (1k allow, 100 flags) vs Node\'s floor', 'pass/floor', 'req/s >= 1.00x', paired['pass/floor'].rps >= 1)
  goal('passthrough vs bare @fastify/http-proxy', 'pass/bareProxy', 'p99 <= 1.00x', paired['pass/bareProxy'].p99 <= 1)
  goal('maintenance 503 vs bare Fastify route, HTML', 'maint/fixed', 'req/s >= 1.00x', paired['maint/fixed'].rps >= 1)
  goal('maintenance 503 vs bare Fastify route, JSON', 'maintJson/fixedJson', 'req/s >= 1.00x', paired['maintJson/fixedJson'].rps >= 1)
  goal('maintenance 503 vs bare Fastify route, HEAD', 'maintHead/fixedHead', 'req/s >= 1.00x', paired['maintHead/fixedHead'].rps >= 1)
  goal('10k-CIDR allowlist vs 1', 'pass10k/pass1', 'req/s within 5%', Math.abs(1 - paired['pass10k/pass1'].rps) <= 0.05)
  console.log('\n| reference (mean of the rounds above) | measured |\n| --- | ---: |')
  for (const [label, r] of [['passthrough vs nginx proxy_pass, req/s', ratios.passVsNginx], ['passthrough vs HAProxy, req/s', ratios.passVsHaproxy], ['maintenance 503 vs nginx static 503, req/s', ratios.maintenanceVsNginxStatic]]) {
    if (r !== null) console.log(`| ${label} | ${x(r)} |`)
  }
  if (propagation.skipped) console.log(`| toggle propagation p99 | skipped: ${propagation.skipped} |`)
  else console.log(`| toggle propagation between replicas (${propagation.count} toggles), goal p99 < 50 ms | p50 ${fmt(propagation.p50, 1)} ms, p99 ${fmt(propagation.p99, 1)} ms |`)
  console.log(`| streaming ${fmt(stream.bytes / 2 ** 20)} MiB: gateway RSS growth, goal < 50 MB | ${fmt(stream.rssGrowthMB, 1)} MB (${fmt(stream.bytes / 2 ** 20 / stream.seconds)} MiB/s) |`)
  const rssList = (id) => idle[id].samplesMB.map((mb) => fmt(mb, 1)).join(' / ')
  console.log(`| idle RSS (median of 5 fresh starts, 3 s after ready), goal <= bare @fastify/http-proxy's ${fmt(idle.bareProxy.medianMB, 1)} MB (${rssList('bareProxy')}) | ${fmt(idle.drawbridge.medianMB, 1)} MB (${rssList('drawbridge')}) |`)

  const out = join(root, 'bench/results')
  mkdirSync(out, { recursive: true })
  const report = { at: new Date().toISOString(), baselineNodeArgs: baselineArgs, machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version }, tool: hasWrk ? 'wrk' : 'autocannon', headTool, pinned: pinning, duration, rounds, connections, table, paired, ratios, stream, propagation, idleRssMB: idle.drawbridge.medianMB, bareProxyIdleRssMB: idle.bareProxy.medianMB, idleRss: idle }
  writeFileSync(join(out, 'latest.json'), JSON.stringify(report, null, 2))
  console.log(`\nwrote ${join(out, 'latest.json')}`)
}

try {
  await main()
} finally {
  await Promise.all(processes.map(stop))
}
