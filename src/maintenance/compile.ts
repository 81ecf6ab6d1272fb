import { defaultMaintenance, type MaintenanceState, type MigrationProgress } from '../state/types.js'
import { createBypassSigner, createSecretMatcher, createSecretPrefixMatcher, type BypassSigner } from './bypass-cookie.js'
import { CidrSet, type CidrError } from '../net/cidr-set.js'
import { DEFAULT_MESSAGE, parseTemplate, renderMaintenance, type AnswerOptions, type Negotiated, type PageTemplate, type PageValues } from './page.js'
import { compileAllowMatcher, compileBlockMatcher, type PathMatcher } from '../http/paths.js'
import { clampRetryAfter } from './retry-after.js'
import type { Decision } from './types.js'

export interface CompileOptions {
  /** config.signingKey ?? state.signingKey */
  signingKey: string
  template: PageTemplate
  cookieTtlSeconds: number
  /** Invalid allowlist entries are skipped (and reported here) rather than failing the whole state. */
  onInvalidCidr?: (entry: string, error: CidrError) => void
  /** A migration run's progress (state.progress): shown on the page and the status route while maintenance is on. */
  progress?: MigrationProgress | null
}

/** Past a run's estimated end, clients are told to retry this often (seconds): it should be over any moment. */
const OVERDUE_RETRY_AFTER = 5

/** Block decision and the 503 responses for one Retry-After value. */
interface Blocked {
  retryAfter: number | null
  decision: Decision & { action: 'block' }
  responses: Negotiated | null
}

/**
 * The allowlist compiled last, and what was invalid in it. Most state changes
 * (a message, a window, a flag) keep the list as it was, and compiling a
 * 100k-entry list costs ~25 ms of the event loop the gateway shares; equal
 * content (checked entry by entry, ~1 ms) reuses the compiled set.
 */
let lastAllow: { list: readonly string[], set: CidrSet, invalid: Array<[string, CidrError]> } | null = null

function sameList (a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function compileAllow (list: readonly string[], onInvalid: (entry: string, error: CidrError) => void): CidrSet {
  if (lastAllow !== null && sameList(lastAllow.list, list)) {
    for (const [entry, error] of lastAllow.invalid) onInvalid(entry, error)
    return lastAllow.set
  }
  const invalid: Array<[string, CidrError]> = []
  const set = CidrSet.compile(list, { onInvalid: (entry, error) => { invalid.push([entry, error]); onInvalid(entry, error) } })
  lastAllow = { list, set, invalid }
  return set
}

function parseTime (iso: string | null, fallback: number): number {
  if (iso === null) return fallback
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? fallback : ms
}

/**
 * Everything the request path needs from a MaintenanceState, built once per
 * state change: the allowlist as ranges, path scopes as matchers, the window
 * as epoch ms, the secret as a constant-time matcher and a cookie signer, and
 * the 503 page/JSON rendered into Buffers.
 */
export class CompiledMaintenance {
  readonly enabled: boolean
  readonly startsAtMs: number
  readonly endsAtMs: number
  readonly allow: CidrSet
  /** null: maintenance applies to every path. */
  readonly inScope: PathMatcher | null
  readonly excepted: PathMatcher
  readonly readOnly: boolean
  readonly redirectDecision: (Decision & { action: 'redirect' }) | null
  /** `/` + secret, for a cheap length check before the constant-time compare. */
  readonly secretPath: string | null
  readonly matchSecret: ((candidate: string) => boolean) | null
  /** The path is `/` + secret or starts with it (constant time); null without a secret. */
  readonly underSecret: ((path: string) => boolean) | null
  readonly signer: BypassSigner | null
  readonly cookieTtlSeconds: number
  readonly message: string
  /** endsAt as ISO (normalised); without one, a migration run's estimated end; else null. */
  readonly endsAt: string | null
  /** The migration run holding this window, while maintenance is on. */
  readonly progress: MigrationProgress | null
  /**
   * A run's estimated end (epoch ms), from a rehearsal: shown as endsAt and
   * counted down by Retry-After, but never ending the window (`isActive`
   * reads the operator's endsAt only), since a run may overrun its estimate.
   */
  readonly estimatedEndMs: number | null
  private readonly template: PageTemplate
  private readonly answer: AnswerOptions
  private blocked: Blocked

  constructor (readonly state: MaintenanceState, options: CompileOptions) {
    this.enabled = state.enabled
    this.startsAtMs = parseTime(state.startsAt, -Infinity)
    this.endsAtMs = parseTime(state.endsAt, Infinity)
    this.progress = state.enabled ? options.progress ?? null : null
    const estimate = parseTime(this.progress?.endsAt ?? null, NaN)
    this.estimatedEndMs = Number.isFinite(this.endsAtMs) || Number.isNaN(estimate) ? null : estimate
    const shownEnd = this.estimatedEndMs ?? this.endsAtMs
    this.endsAt = Number.isFinite(shownEnd) ? new Date(shownEnd).toISOString() : null
    this.allow = compileAllow(state.allow, options.onInvalidCidr ?? (() => {}))
    // The scope blocks (every spelling of its paths); exceptions let through (the exact path only).
    this.inScope = state.paths === null ? null : compileBlockMatcher(state.paths)
    this.excepted = compileAllowMatcher(state.exceptPaths)
    this.readOnly = state.mode === 'read-only'
    this.redirectDecision = state.redirect === null ? null : { action: 'redirect', rule: 'redirect', location: state.redirect }
    const secret = state.secret === null || state.secret === '' ? null : state.secret
    this.secretPath = secret === null ? null : '/' + secret
    this.matchSecret = secret === null ? null : createSecretMatcher(secret)
    this.underSecret = secret === null ? null : createSecretPrefixMatcher(secret)
    this.signer = secret === null ? null : createBypassSigner(options.signingKey, secret, state.secretId ?? null)
    this.cookieTtlSeconds = options.cookieTtlSeconds
    this.message = state.message ?? DEFAULT_MESSAGE
    // A page stored with the window wins over the configured one, on every replica alike.
    this.template = state.page === undefined || state.page === null ? options.template : parseTemplate(state.page)
    this.answer = { status: state.status ?? 503, refresh: state.refresh ?? null }
    this.blocked = this.makeBlocked(state.retryAfter ?? null)
  }

  /** Maintenance is on and `now` is inside its window (path scope aside). */
  isActive (now: number): boolean {
    return this.enabled && now >= this.startsAtMs && now < this.endsAtMs
  }

  /** Seconds for Retry-After: the fixed `retryAfter`, else the seconds left until endsAt, else null; at most MAX_RETRY_AFTER. */
  retryAfterAt (now: number): number | null {
    if (this.state.retryAfter !== null) return clampRetryAfter(this.state.retryAfter)
    if (this.estimatedEndMs !== null) return clampRetryAfter(Math.max(OVERDUE_RETRY_AFTER, Math.ceil((this.estimatedEndMs - now) / 1000)))
    if (this.endsAtMs === Infinity) return null
    return clampRetryAfter(Math.max(1, Math.ceil((this.endsAtMs - now) / 1000)))
  }

  private makeBlocked (retryAfter: number | null): Blocked {
    return { retryAfter, decision: { action: 'block', rule: 'maintenance', retryAfter }, responses: null }
  }

  private current (now: number): Blocked {
    const retryAfter = this.retryAfterAt(now)
    // Only a countdown to endsAt changes this, and then once a second.
    if (retryAfter !== this.blocked.retryAfter) this.blocked = this.makeBlocked(retryAfter)
    return this.blocked
  }

  blockDecision (now: number): Decision & { action: 'block' } {
    return this.current(now).decision
  }

  /** The status blocked requests are answered with. */
  get status (): number {
    return this.answer.status
  }

  /** The 503 page and JSON for `now`, rendered lazily and reused while Retry-After is unchanged. */
  responses (now: number): Negotiated {
    const blocked = this.current(now)
    if (blocked.responses === null) blocked.responses = renderMaintenance(this.template, this.pageValues(blocked.retryAfter), this.answer)
    return blocked.responses
  }

  pageValues (retryAfter: number | null): PageValues {
    return { message: this.message, retryAfter, endsAt: this.endsAt, progress: this.progress === null ? null : `Step ${this.progress.step} of ${this.progress.of}` }
  }

  /** Seconds until the run's estimated end (0 once it is due), or null without an estimate. */
  etaSeconds (now: number): number | null {
    return this.estimatedEndMs === null ? null : Math.max(0, Math.ceil((this.estimatedEndMs - now) / 1000))
  }
}

export function compileMaintenance (state: MaintenanceState, options: CompileOptions): CompiledMaintenance {
  return new CompiledMaintenance(state, options)
}

export const STARTING_MESSAGE = 'The service is starting up. Please try again in a moment.'

/**
 * Before any state has loaded: fail open (maintenance off, everything
 * proxied) or fail closed (maintenance on, nothing let through).
 */
export function compileFallback (policy: 'open' | 'closed', template: PageTemplate, cookieTtlSeconds: number): CompiledMaintenance {
  const state = { ...defaultMaintenance(), enabled: policy === 'closed', message: STARTING_MESSAGE, retryAfter: 5 }
  // No secret, so the signing key is never used.
  return new CompiledMaintenance(state, { signingKey: 'unused', template, cookieTtlSeconds })
}

export const EMPTY_TEMPLATE: PageTemplate = parseTemplate('')
