import { spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { createInterface } from 'node:readline'

/**
 * With two cores or more, servers run on core 0 and the load generator on
 * core 1 (BENCH_PIN=0 turns it off): the contenders then compete for the same
 * single core as the load tool never does, and runs stop depending on where
 * the scheduler happened to put things.
 */
export const pinning = process.env.BENCH_PIN !== '0' && cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0

/** `argv` prefixed with `taskset -c <core>` when pinning. */
export function pinned (argv, core = 0) {
  return pinning ? ['taskset', '-c', String(core), ...argv] : argv
}

/**
 * Starts a node process (or an executable script, run through its shebang as
 * users run it) and resolves once it prints its ready line: either our
 * bench servers' `{"ready":true,"address":…}` or Drawbridge's "drawbridge ready" log.
 */
export function startNode (args, { env = {}, timeoutMs = 20_000, command = process.execPath } = {}) {
  const [cmd, ...rest] = pinned([command, ...args])
  const child = spawn(cmd, rest, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (d) => { stderr += d })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start: ${stderr}`)), timeoutMs)
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${stderr}`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      let msg
      try { msg = JSON.parse(line) } catch { return }
      if (msg.ready === true || msg.msg === 'drawbridge ready') {
        clearTimeout(timer)
        resolve({ child, address: msg.address ?? msg.gateway, admin: msg.admin, pid: child.pid })
      }
    })
  })
}

export function stop (proc) {
  return new Promise((resolve) => {
    if (proc.child.exitCode !== null) return resolve()
    proc.child.removeAllListeners('exit')
    proc.child.once('exit', () => resolve())
    // nginx's master must be asked (SIGTERM): killed outright, it leaves its worker running, still bound to the port.
    proc.child.kill(proc.stopSignal ?? 'SIGKILL')
  })
}

/**
 * CPU time a process has used, in nanoseconds: every thread's
 * /proc/<pid>/task/<tid>/schedstat (V8's GC helpers and libuv's pool count),
 * plus the same for its direct children (nginx's worker under its master).
 * Time on the CPU, not wall time: a neighbour stealing the core does not
 * inflate it, so CPU per request is steadier than req/s on a shared machine.
 */
export function cpuNsOf (pid, withChildren = true) {
  let total = 0
  let tids = []
  try { tids = readdirSync(`/proc/${pid}/task`) } catch { return NaN }
  for (const tid of tids) {
    try { total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]) } catch {}
    if (!withChildren) continue
    let children = ''
    try { children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim() } catch {}
    for (const child of children.split(' ').filter(Boolean)) total += cpuNsOf(Number(child), false) || 0
  }
  return total
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssOf (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /VmRSS:\s+(\d+) kB/.exec(status)
  return match ? Number(match[1]) * 1024 : NaN
}
