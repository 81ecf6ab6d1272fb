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

export const hasAb = spawnSync('ab', ['-V']).error === undefined

/**
 * HEAD under load. wrk and autocannon wait for a body after a HEAD answer's
 * Content-Length and stall. ApacheBench (`ab -i -k`, `apt-get install
 * apache2-utils`) sends HEAD on keep-alive connections, so its rows measure
 * the same thing as the GET rows beside them. Its requests are HTTP/1.0 with
 * `Connection: Keep-Alive` and its percentiles are whole milliseconds.
 * `duration` (seconds) or `requests` (exactly that many) bounds the run.
 */
export async function runAb ({ url, connections, headers, duration, requests: count }) {
  // With -t, ab still stops at -n (50,000 by default), and it allocates a record per
  // request up front (~50 bytes): ask for what the duration can hold, not any number.
  const bound = duration === undefined ? ['-n', String(count)] : ['-t', String(duration), '-n', String(Math.max(1_000_000, duration * 200_000))]
  const args = ['-q', '-i', '-k', '-c', String(connections), ...bound]
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`)
  const [cmd, ...rest] = pinned(['ab', ...args, url], 1)
  const { stdout: out } = await execFileAsync(cmd, rest, { encoding: 'utf8' })
  const field = (label) => Number(new RegExp(`${label}:?\\s+([\\d.]+)`).exec(out)?.[1])
  const failed = field('Failed requests')
  const kept = field('Keep-Alive requests')
  const requests = field('Complete requests')
  const errors = [failed > 0 ? `${failed} failed` : '', kept < requests ? `${requests - kept} not kept alive` : ''].filter(Boolean).join(', ')
  return { rps: field('Requests per second'), p50: field('  50%'), p99: field('  99%'), errors: errors === '' ? null : errors, requests, kept, non2xx: field('Non-2xx responses') || 0 /* ab omits the line when there are none */ }
}

/**
 * HEAD without ab: undici, costlier per request than ab, and it closes the
 * connection after every HEAD, so these rows measure connection set-up:
 * compare HEAD rows with each other only.
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

/** Drives one URL for `duration` seconds: wrk when installed (it costs less CPU), else autocannon; HEAD with ab, else undici. */
export function runLoad (options) {
  if (options.method === 'HEAD') return hasAb ? runAb(options) : runHead(options)
  return hasWrk ? runWrk(options) : runAutocannon(options)
}
