// `npm run bench:instructions [pass|503]`: the passthrough and 503 goals
// counted in instructions instead of time. Each server runs under valgrind's
// callgrind, which counts the instructions a process executes whatever its
// neighbours do: on a shared machine where CPU time per request moves by 30 %
// between runs of the same build, these counts move by a few percent (GC and
// JIT work fall into the counted batch or not).
//
// Passthrough, all given the binary's V8 flags: Drawbridge with every check of
// the wall-clock bench (1,000-CIDR allowlist, 100 flags, the flags header),
// Node's floor, and Node's floor sending the same extra headers Drawbridge
// sends upstream (X-Forwarded-*, the flags header as explain renders it). The
// 503: Drawbridge in maintenance against a bare Fastify route sending the same
// page (HTML, JSON, HEAD). Each gets BENCH_WARM requests, then two counted
// batches of BENCH_REQUESTS (the second is reported: the first still holds JIT
// work). Printed: thousands of instructions per
// request on the main thread (what one core's throughput follows) and summed
// over every thread (V8's GC and compiler helpers, libuv's pool: with the
// servers pinned to one core they share it).
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Pool } from 'undici'
import { hasAb, runAb } from './lib/load.js'
import { startNode, stop } from './lib/processes.js'
import { allowlist, benchFlags } from './lib/fixtures.js'
import { admin, binaryFlags, headersSentUpstream, serveArgs, userHeader } from './lib/drawbridge-admin.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const warm = Number(process.env.BENCH_WARM ?? 6000)
const counted = Number(process.env.BENCH_REQUESTS ?? 3000)
// BENCH_PERF_MAP=1: node writes /tmp/perf-<pid>.map, naming the JIT code callgrind lists by address.
const perfMap = process.env.BENCH_PERF_MAP === '1' ? ['--perf-basic-prof'] : []
// BENCH_DRAWBRIDGE_NODE_ARGS: node flags for Drawbridge after the binary's own (a later V8 flag wins), to compare settings.
const drawbridgeArgs = (process.env.BENCH_DRAWBRIDGE_NODE_ARGS ?? '').split(' ').filter(Boolean)

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.log('valgrind is not installed (apt-get install valgrind): nothing to count')
  process.exit(0)
}

const processes = []

/** Exactly n requests of this kind through 10 keep-alive connections (HEAD through ab: undici closes a connection after each HEAD). */
async function drive (address, n, kind) {
  if (kind.method === 'HEAD' && hasAb) {
    const r = await runAb({ url: `http://${address}/`, connections: 10, headers: kind.headers, requests: n })
    if (r.requests !== n || r.kept !== n || r.non2xx !== (kind.status >= 300 ? n : 0)) throw new Error(`HEAD / through ${address}: ${r.requests} of ${n} complete, ${r.kept} kept alive, ${r.non2xx} not 2xx`)
    return
  }
  const pool = new Pool(`http://${address}`, { connections: 10 })
  let left = n
  await Promise.all(Array.from({ length: 10 }, async () => {
    while (left-- > 0) {
      const res = await pool.request({ path: '/', method: kind.method, headers: kind.headers })
      if (res.statusCode !== kind.status) throw new Error(`${kind.method} / through ${address}: ${res.statusCode}`)
      await res.body.dump()
    }
  }))
  await pool.close()
}

/** Starts `argv` (node's arguments) under callgrind, every thread in its own file under a fresh directory. */
async function underCallgrind (argv, env = {}, nodeArgs = []) {
  const out = mkdtempSync(join(tmpdir(), 'drawbridge-callgrind-'))
  const proc = await startNode(['--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${out}/cg.%p`,
    process.execPath, ...binaryFlags, ...nodeArgs, ...perfMap, ...argv], { command: 'valgrind', env: { MALLOC_ARENA_MAX: '1', ...env }, timeoutMs: 300_000 })
  proc.stopSignal = 'SIGTERM'
  proc.out = out
  if (perfMap.length > 0) console.log(`${argv[0]}: callgrind files in ${out}, JIT names in /tmp/perf-${proc.pid}.map`)
  return proc
}

/** Warm-up, then two counted batches; instructions per request of the second, main thread and all threads. */
async function count (proc, kind) {
  await drive(proc.address, warm, kind)
  for (let batch = 0; batch < 2; batch++) {
    execFileSync('callgrind_control', ['--zero', String(proc.pid)], { stdio: 'ignore' })
    await drive(proc.address, counted, kind)
    execFileSync('callgrind_control', ['--dump', String(proc.pid)], { stdio: 'ignore' })
    proc.dumps = (proc.dumps ?? 0) + 1
  }
  // Dumps are numbered per process, <pid>.<dump>-<thread>; thread 01 is the main one.
  const files = readdirSync(proc.out).filter((f) => f.startsWith(`cg.${proc.pid}.${proc.dumps}-`))
  const total = (f) => Number(/^summary: (\d+)/m.exec(readFileSync(join(proc.out, f), 'utf8'))?.[1] ?? NaN)
  const main = total(`cg.${proc.pid}.${proc.dumps}-01`)
  const all = files.reduce((sum, f) => sum + total(f), 0)
  return { main: main / counted / 1000, all: all / counted / 1000 }
}

function table (rows, base) {
  console.log('\n| server | main thread | vs baseline | all threads | vs baseline |\n| --- | ---: | ---: | ---: | ---: |')
  for (const [name, r] of rows) {
    console.log(`| ${name} | ${r.main.toFixed(1)}k | ${(r.main / base.main).toFixed(3)}x | ${r.all.toFixed(1)}k | ${(r.all / base.all).toFixed(3)}x |`)
  }
}

/** The passthrough goal: Drawbridge with every check against Node's floor, and the floor sending the same headers. */
async function passthrough (upstream) {
  const pass = await underCallgrind([join(root, 'bin/drawbridge.js'), ...serveArgs(`http://${upstream.address}`, ['--flags-identity', 'header:x-user-id'])], {}, drawbridgeArgs)
  processes.push(pass)
  for (const flag of benchFlags(100)) await admin(pass, 'PUT', `/v1/flags/${flag.key}`, flag.body)
  await admin(pass, 'PATCH', '/v1/maintenance', { enabled: true, allow: allowlist(1000) })
  const sent = await headersSentUpstream(pass, userHeader)
  const floor = await underCallgrind([join(root, 'bench/servers/node-floor.js'), `http://${upstream.address}`])
  const floorHeaders = await underCallgrind([join(root, 'bench/servers/node-floor.js'), `http://${upstream.address}`],
    { FLOOR_EXTRA_HEADERS: JSON.stringify(sent.list) })
  processes.push(floor, floorHeaders)
  const get = { method: 'GET', headers: userHeader, status: 200 }
  const [p, f, fh] = await Promise.all([count(pass, get), count(floor, get), count(floorHeaders, get)])
  console.log('\npassthrough, against Node\'s floor:')
  table([['drawbridge pass, 1k allow + 100 flags', p], ["Node's floor (node:http + undici Pool)", f],
    [`Node's floor sending the same headers (${sent.flags.length}-byte flags header)`, fh]], f)
}

/** The 503 goal: Drawbridge in maintenance against a bare Fastify route sending the same page, as HTML, JSON and HEAD. */
async function maintenance () {
  const maint = await underCallgrind([join(root, 'bin/drawbridge.js'), ...serveArgs('http://127.0.0.1:9')], {}, drawbridgeArgs)
  processes.push(maint)
  await admin(maint, 'PATCH', '/v1/maintenance', { enabled: true, message: 'Back soon', retryAfter: 300 })
  const fixed = await underCallgrind([join(root, 'bench/servers/bare-fastify.js'), join(root, 'static/maintenance.html')])
  processes.push(fixed)
  const kinds = [
    ['HTML', { method: 'GET', headers: userHeader, status: 503 }],
    ['JSON', { method: 'GET', headers: { ...userHeader, accept: 'application/json' }, status: 503 }],
    ['HEAD', { method: 'HEAD', headers: userHeader, status: 503 }]
  ]
  for (const [name, kind] of kinds) {
    const [m, f] = await Promise.all([count(maint, kind), count(fixed, kind)])
    console.log(`\nmaintenance 503, ${name}, against a bare Fastify route:`)
    table([['drawbridge maintenance 503', m], ['bare Fastify route, same page', f]], f)
  }
}

const which = process.argv[2] ?? 'all'
try {
  const upstream = await startNode([join(root, 'bench/servers/upstream.js')])
  processes.push(upstream)
  console.log(`instructions per request under callgrind: ${warm} warm-up, then ${counted} counted (the second of two batches); node ${binaryFlags.join(' ')}${drawbridgeArgs.length > 0 ? `, Drawbridge also ${drawbridgeArgs.join(' ')}` : ''}`)
  if (which === 'all' || which === 'pass') await passthrough(upstream)
  if (which === 'all' || which === '503') await maintenance()
} finally {
  for (const proc of processes.reverse()) await stop(proc)
}
