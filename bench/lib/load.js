import { execFileSync, spawnSync } from 'node:child_process'
import autocannon from 'autocannon'

export const hasWrk = spawnSync('wrk', ['--version']).error === undefined

function toMs (text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim())
  if (!m) return NaN
  const n = Number(m[1])
  return { us: n / 1000, ms: n, s: n * 1000, m: n * 60_000 }[m[2]]
}

function runWrk ({ url, duration, connections, headers }) {
  const args = ['-t1', `-c${connections}`, `-d${duration}s`, '--latency']
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`)
  const out = execFileSync('wrk', [...args, url], { encoding: 'utf8' })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '')
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '')
  const errors = /Socket errors: (.*)/.exec(out)?.[1] ?? null
  return { rps, p50, p99, errors }
}

async function runAutocannon ({ url, duration, connections, headers }) {
  const result = await autocannon({ url, duration, connections, headers, pipelining: 1 })
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts > 0 ? `${result.errors} errors, ${result.timeouts} timeouts` : null
  }
}

/** Drives one URL for `duration` seconds: wrk when installed (it costs less CPU), else autocannon. */
export function runLoad (options) {
  return hasWrk ? runWrk(options) : runAutocannon(options)
}
