import type { Logger } from 'pino'
import { Agent, request } from 'undici'

/**
 * Delivers webhook requests off the caller's path. `enqueue` only pushes onto a
 * bounded queue and returns; a few workers POST, retry with exponential
 * backoff, and report each delivery's final outcome once. A receiver that
 * hangs costs at most `timeoutMs` per attempt and never more than one worker
 * slot at a time: a delivery waiting for its retry holds no slot.
 */

export interface Delivery {
  /** Same on every attempt, so receivers can de-duplicate (X-Drawbridge-Delivery). */
  id: string
  /** Index of the webhook in config.webhooks, for audit and logs. */
  hook: number
  url: string
  /** Printable form of the URL: origin only, since the path of a Slack URL is itself a secret. */
  target: string
  event: string
  headers: Record<string, string>
  body: string
}

export interface DeliveryOutcome {
  delivery: Delivery
  ok: boolean
  attempts: number
  /** Last HTTP status, null when no response came (refused, timeout). */
  status: number | null
  error: string | null
}

export interface DispatcherOptions {
  logger: Logger
  /** Called once per delivery with its final outcome (after the last retry). */
  onOutcome: (outcome: DeliveryOutcome) => void
  /** Called when the queue is full and a delivery is dropped. */
  onDrop?: (delivery: Delivery) => void
  maxQueue?: number
  maxAttempts?: number
  timeoutMs?: number
  backoffMs?: number
  maxBackoffMs?: number
  concurrency?: number
}

export const DEFAULT_MAX_QUEUE = 1000
export const DEFAULT_MAX_ATTEMPTS = 5
export const DEFAULT_TIMEOUT_MS = 5000
export const DEFAULT_BACKOFF_MS = 1000
export const DEFAULT_MAX_BACKOFF_MS = 60_000
export const DEFAULT_CONCURRENCY = 4

interface Job {
  delivery: Delivery
  attempt: number
  lastStatus: number | null
  lastError: string | null
}

/** 408 and 429 mean "later"; any other 4xx will not get better by retrying. */
function retryable (status: number): boolean {
  return status >= 500 || status === 408 || status === 429
}

export class WebhookDispatcher {
  private readonly pending: Job[] = []
  private readonly waiting = new Set<NodeJS.Timeout>()
  private active = 0
  private closed = false
  private readonly abort = new AbortController()
  private readonly agent: Agent
  private readonly idle = new Set<() => void>()
  private readonly maxQueue: number
  private readonly maxAttempts: number
  private readonly timeoutMs: number
  private readonly backoffMs: number
  private readonly maxBackoffMs: number
  private readonly concurrency: number

  constructor (private readonly options: DispatcherOptions) {
    this.maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS
    this.maxBackoffMs = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY
    // A private pool: closing it on shutdown cannot touch the proxy's connections.
    this.agent = new Agent({ connect: { timeout: this.timeoutMs }, keepAliveTimeout: 10_000 })
  }

  /** Deliveries queued, waiting for a retry, or in flight. */
  get size (): number {
    return this.pending.length + this.waiting.size + this.active
  }

  /** Never blocks and never throws: false when the delivery was dropped (queue full or closed). */
  enqueue (delivery: Delivery): boolean {
    if (this.closed || this.size >= this.maxQueue) {
      this.options.logger.warn({ event: delivery.event, webhook: delivery.target, delivery: delivery.id, queued: this.size },
        this.closed ? 'webhook delivery dropped: shutting down' : 'webhook delivery dropped: queue full')
      this.options.onDrop?.(delivery)
      return false
    }
    this.pending.push({ delivery, attempt: 0, lastStatus: null, lastError: null })
    // Start work on a later turn: nothing of the HTTP client runs inside the publisher's call.
    setImmediate(() => { this.pump() })
    return true
  }

  private pump (): void {
    while (!this.closed && this.active < this.concurrency && this.pending.length > 0) {
      const job = this.pending.shift() as Job
      this.active++
      void this.attempt(job).finally(() => {
        this.active--
        this.pump()
        if (this.size === 0) for (const resolve of this.idle) resolve()
      })
    }
  }

  private async attempt (job: Job): Promise<void> {
    job.attempt++
    const { delivery } = job
    // An attempt's own controller and timer, not AbortSignal.any([close, AbortSignal.timeout()]):
    // on Node 20 a timeout signal held only by AbortSignal.any can be garbage
    // collected before it fires (nodejs/node#57736), and the attempt then
    // hangs on a silent receiver for good (seen once in the test suite).
    const stop = new AbortController()
    const timer = setTimeout(() => { stop.abort(new DOMException(`timed out after ${this.timeoutMs} ms`, 'TimeoutError')) }, this.timeoutMs)
    const onClose = (): void => { stop.abort(this.abort.signal.reason) }
    this.abort.signal.addEventListener('abort', onClose, { once: true })
    try {
      const res = await request(delivery.url, {
        method: 'POST',
        headers: { ...delivery.headers, 'x-drawbridge-attempt': String(job.attempt) },
        body: delivery.body,
        dispatcher: this.agent,
        signal: stop.signal
      })
      await res.body.dump()
      job.lastStatus = res.statusCode
      job.lastError = null
      if (res.statusCode >= 200 && res.statusCode < 300) {
        this.finish(job, true)
        return
      }
      job.lastError = `HTTP ${res.statusCode}`
      if (!retryable(res.statusCode)) {
        this.finish(job, false)
        return
      }
    } catch (err) {
      job.lastStatus = null
      const e = err as Error
      job.lastError = e.name === 'TimeoutError' || stop.signal.reason?.name === 'TimeoutError' ? `timed out after ${this.timeoutMs} ms` : e.message
    } finally {
      clearTimeout(timer)
      this.abort.signal.removeEventListener('abort', onClose)
    }
    if (this.closed) {
      this.finish(job, false)
      return
    }
    if (job.attempt >= this.maxAttempts) {
      this.finish(job, false)
      return
    }
    this.retryLater(job)
  }

  private retryLater (job: Job): void {
    // Exponential with full jitter, so many gateways do not retry in lockstep.
    const cap = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (job.attempt - 1))
    const delay = Math.round(cap / 2 + Math.random() * cap / 2)
    this.options.logger.warn({ event: job.delivery.event, webhook: job.delivery.target, delivery: job.delivery.id, attempt: job.attempt, error: job.lastError, retryInMs: delay },
      'webhook delivery failed; will retry')
    const timer = setTimeout(() => {
      this.waiting.delete(timer)
      this.pending.push(job)
      this.pump()
    }, delay)
    timer.unref()
    this.waiting.add(timer)
  }

  private finish (job: Job, ok: boolean): void {
    const outcome: DeliveryOutcome = { delivery: job.delivery, ok, attempts: job.attempt, status: job.lastStatus, error: ok ? null : job.lastError }
    const log = { event: job.delivery.event, webhook: job.delivery.target, delivery: job.delivery.id, attempts: job.attempt, status: job.lastStatus }
    if (ok) this.options.logger.info(log, 'webhook delivered')
    else this.options.logger.error({ ...log, error: job.lastError }, 'webhook delivery failed')
    try {
      this.options.onOutcome(outcome)
    } catch (err) {
      this.options.logger.error({ err }, 'webhook outcome handler failed')
    }
  }

  /** Resolves when nothing is queued, waiting or in flight (tests, graceful shutdown). */
  async drained (): Promise<void> {
    if (this.size === 0) return
    await new Promise<void>((resolve) => {
      const done = (): void => { this.idle.delete(done); resolve() }
      this.idle.add(done)
    })
  }

  /**
   * Stops taking deliveries, lets in-flight ones finish for up to `graceMs`,
   * then aborts them. Queued and waiting deliveries are dropped and logged:
   * a shutdown must not wait on a receiver.
   */
  async close (graceMs = 2000): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const timer of this.waiting) clearTimeout(timer)
    const dropped = this.pending.length + this.waiting.size
    this.waiting.clear()
    this.pending.length = 0
    if (dropped > 0) this.options.logger.warn({ dropped }, 'webhook deliveries dropped at shutdown')
    if (this.active > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        this.drained(),
        new Promise<void>((resolve) => { timer = setTimeout(resolve, graceMs) })
      ])
      clearTimeout(timer)
      this.abort.abort()
      await this.drained()
    }
    await this.agent.close()
  }
}
