import { execFile, spawnSync } from 'node:child_process'
import { promisify } from 'node:util'
import autocannon from 'autocannon'
import { Pool } from 'undici'
import { pinned } from './processes.js'

export const hasWrk = spawnSync('wrk', ['--version']).error === undefined

function toMs (text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim())
  if (!m) return NaN
  const n = Number(m[1])
  return { us: n / 1000, ms: n, s: n * 1000, m: n * 60_000 }[m[2]]
}

// Asynchronous on purpose: a synchronous run blocks this process's event loop
// for the whole load, so keep-alive closes from the admin ports go unseen and
// the next admin call is written onto a socket the server already closed.
const execFileAsync = promisify(execFile)

async function runWrk ({ url, duration, connections, headers }) {
  const args = ['-t1', `-c${connections}`, `-d${duration}s`, '--latency']
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`)
  const [cmd, ...rest] = pinned(['wrk', ...args, url], 1)
  const { stdout: out } = await execFileAsync(cmd, rest, { encoding: 'utf8' })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '')
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '')
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? null
  const requests = Number(/(\d+) requests in/.exec(out)?.[1])
  return { rps, p50, p99, errors, requests }
}

async function runAutocannon ({ url, duration, connections, headers }) {
  const result = await autocannon({ url, duration, connections, headers, pipelining: 1 })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts > 0 ? `${result.errors} errors, ${result.timeouts} timeouts` : null,
    requests: result.requests.total
  }
}

/**
 * HEAD under load: wrk and autocannon wait for a body after a HEAD answer's
 * Content-Length and stall, so this drives it with undici (costlier per request
 * than wrk: compare HEAD rows with each other only).
 */
export async function runHead ({ url, duration, connections, headers }) {
  const { origin, pathname } = new URL(url)
  const pool = new Pool(origin, { connections, pipelining: 1 })
  const latencies = []
  let errors = 0
  const end = Date.now() + duration * 1000
  const worker = async () => {
    while (Date.now() < end) {
      const started = performance.now()
      try {
        const res = await pool.request({ path: pathname, method: 'HEAD', headers })
        await res.body.dump()
        latencies.push(performance.now() - started)
      } catch { errors++ }
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
  await pool.close()
  latencies.sort((a, b) => a - b)
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN
  return { rps: latencies.length / duration, p50: at(0.5), p99: at(0.99), errors: errors > 0 ? `${errors} errors` : null, requests: latencies.length }
}

/** Drives one URL for `duration` seconds: wrk when installed (it costs less CPU), else autocannon. */
export function runLoad (options) {
  if (options.method === 'HEAD') return runHead(options)
  return hasWrk ? runWrk(options) : runAutocannon(options)
}
