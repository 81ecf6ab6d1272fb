import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

/**
 * Starts a node process (or an executable script, run through its shebang as
 * users run it) and resolves once it prints its ready line: either our
 * bench servers' `{"ready":true,"address":…}` or Drawbridge's "drawbridge ready" log.
 */
export function startNode (args, { env = {}, timeoutMs = 20_000, command = process.execPath } = {}) {
  const child = spawn(command, args, {
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
    proc.child.kill('SIGKILL')
  })
}

/** Resident set size of a process in bytes, from /proc (Linux). */
export function rssOf (pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /VmRSS:\s+(\d+) kB/.exec(status)
  return match ? Number(match[1]) * 1024 : NaN
}
