import type { Dispatcher } from 'undici'

/**
 * Active health checks of one upstream (nginx's `health_check`, HAProxy's
 * `check rise/fall`): a GET of the health path through the upstream's own
 * keep-alive pool, healthy when it answers below 500 within the timeout.
 * A flapping upstream does not flap the state: it takes `rise` passing
 * checks in a row to become healthy and `fall` failing ones to become
 * unhealthy. Until the first check the state is unknown (null).
 */

export interface ProbeResult {
  ok: boolean
  /** What failed, for the 409 and the audit log: `answered 503`, `connect ECONNREFUSED`, `timed out after 2000 ms`. */
  reason: string | null
}

export interface HealthOptions {
  /** Path on the upstream (its base path already joined). */
  path: string
  /** Host header the upstream expects. */
  host: string
  timeoutMs: number
  intervalMs: number
  rise: number
  fall: number
}

/** One GET of the health path; never throws. */
export async function probe (pool: Dispatcher, options: Pick<HealthOptions, 'path' | 'host' | 'timeoutMs'>): Promise<ProbeResult> {
  const started = performance.now()
  try {
    const res = await pool.request({
      method: 'GET',
      path: options.path,
      headers: { host: options.host, 'user-agent': 'drawbridge-health-check', accept: '*/*' },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: AbortSignal.timeout(options.timeoutMs)
    })
    // The body is not needed; dumping it returns the connection to the pool.
    await res.body.dump({ limit: 65536 }).catch(() => {})
    return res.statusCode < 500 ? { ok: true, reason: null } : { ok: false, reason: `answered ${res.statusCode}` }
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_HEADERS_TIMEOUT') {
      return { ok: false, reason: `no answer within ${options.timeoutMs} ms` }
    }
    const cause = e.cause as NodeJS.ErrnoException | undefined
    const code = e.code ?? cause?.code
    return { ok: false, reason: `${code === undefined ? '' : code + ': '}${e.message}`.slice(0, 300) + ` (after ${Math.round(performance.now() - started)} ms)` }
  }
}

export class HealthMonitor {
  private state: boolean | null = null
  private streak = 0
  private checked: string | null = null
  private lastReason: string | null = null
  private timer: NodeJS.Timeout | null = null
  private running = false
  private stopped = false

  constructor (private readonly pool: Dispatcher, private readonly options: HealthOptions,
    private readonly onChange: (healthy: boolean, reason: string | null) => void) {}

  get healthy (): boolean | null { return this.state }
  get checkedAt (): string | null { return this.checked }
  get reason (): string | null { return this.lastReason }

  start (): void {
    this.stopped = false
    void this.tick()
  }

  stop (): void {
    this.stopped = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }

  /** A check made now, outside the schedule (a switch asks before it commits); it counts like a scheduled one. */
  async checkNow (): Promise<ProbeResult> {
    const result = await probe(this.pool, this.options)
    this.record(result)
    return result
  }

  private async tick (): Promise<void> {
    // One check at a time: a slow upstream must not pile up probes.
    if (this.running || this.stopped) return
    this.running = true
    try {
      this.record(await probe(this.pool, this.options))
    } finally {
      this.running = false
      if (!this.stopped) {
        this.timer = setTimeout(() => { void this.tick() }, this.options.intervalMs)
        this.timer.unref()
      }
    }
  }

  private record (result: ProbeResult): void {
    this.checked = new Date().toISOString()
    this.lastReason = result.reason
    if (this.state === null) {
      // The first check decides at once: there is no earlier state to protect from a flap.
      this.state = result.ok
      this.streak = 0
      this.onChange(result.ok, result.reason)
      return
    }
    if (result.ok === this.state) { this.streak = 0; return }
    this.streak++
    if (this.streak >= (result.ok ? this.options.rise : this.options.fall)) {
      this.state = result.ok
      this.streak = 0
      this.onChange(result.ok, result.reason)
    }
  }
}
