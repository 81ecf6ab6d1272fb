import type { IncomingMessage } from 'node:http'
import type { AppContext } from '../context.js'
import { readCookie } from '../http/cookies.js'
import { readRawHeader } from '../http/request-headers.js'
import { randomDraws } from './buckets.js'
import { nextStepAt, type CompiledFlags, type Evaluation } from './compile.js'
import { evaluateFlag, type EvaluationContext } from './evaluate.js'
import { flagRuntime } from './flag-runtime.js'
import { markServed } from './flag-usage.js'

/** What the gateway asks of flags for each request it is going to proxy. */
export interface RequestFlagsResolver {
  /** Called for requests that are going to be proxied. header: value for X-Drawbridge-Flags ('' = none); gateStatus: 0 = not gated, else answer that status. */
  resolve (req: IncomingMessage, normalizedPath: string, ip: string): { header: string, gateStatus: number }
}

/**
 * Flags at the proxy: for each request that is going to be proxied, evaluate
 * every flag for the request's identity, answer a gate's status when a gated
 * path's flag is off, and otherwise list the flags that are on in
 * `X-Drawbridge-Flags: key1,key2=variant` for the upstream.
 *
 * Identity comes from `flagsIdentity` (`header:<name>` or `cookie:<name>`).
 * Rules can also look at `ip` (the resolved client address), `path` (the
 * normalised path), `method` and `host`.
 *
 * A gate blocks, so it matches every spelling of its paths (case, `;params`:
 * see compile.ts). `POST /v1/explain` answers with the same functions
 * (explain-flags.ts), so it agrees with the gateway by construction.
 *
 * Everything that depends only on the flags (gate matchers, the per-identity
 * answer cache) is prepared once per state change; with no flags a request
 * costs one pointer comparison, and a returning user costs a Map lookup.
 */

const NONE: { header: string, gateStatus: number } = Object.freeze({ header: '', gateStatus: 0 })

type Identity = (req: IncomingMessage) => string | undefined

/**
 * Reads the targeting key as configured; no identity configured: every request
 * is anonymous. Reads `rawHeaders`: touching `req.headers` would make Node
 * build the whole header object on every proxied request.
 */
export function identityReader (spec: string | undefined): Identity {
  if (spec === undefined) return () => undefined
  const colon = spec.indexOf(':')
  const kind = spec.slice(0, colon)
  const name = spec.slice(colon + 1).trim()
  if (kind === 'header') {
    const header = name.toLowerCase()
    return (req) => {
      const value = readRawHeader(req.rawHeaders, header)
      return value === undefined || value === '' ? undefined : value
    }
  }
  return (req) => {
    const value = readCookie(readRawHeader(req.rawHeaders, 'cookie', '; '), name)
    if (value === undefined || value === '') return undefined
    if (value.indexOf('%') < 0) return value
    // Frameworks percent-encode cookie values; the id the application means is the decoded one.
    try { return decodeURIComponent(value) } catch { return value }
  }
}

/** The first gate (in key order) whose flag is off for this user and which covers the path; null: none answers. */
export function answeringGate (gates: CompiledFlags['gates'], results: readonly Evaluation[], normalizedPath: string): CompiledFlags['gates'][number] | null {
  for (let g = 0; g < gates.length; g++) {
    const gate = gates[g] as CompiledFlags['gates'][number]
    if (!(results[gate.index] as Evaluation).value && gate.matches(normalizedPath)) return gate
  }
  return null
}

interface Plan {
  table: CompiledFlags
  /**
   * Per-identity answers, when no rule looks at a per-request attribute: the
   * same user then always gets the same evaluations until the flags change
   * (a new table, so a new plan and an empty cache), a scheduled step begins
   * or a date condition's instant passes. Null when rules do. Answers that
   * drew at random are never cached.
   */
  byIdentity: Map<string, FlagsAnswer> | null
  /** When a scheduled step begins (or a date threshold passes) and the cached answers stop holding (Infinity: never). */
  validUntil: number
}

export interface FlagsAnswer {
  results: Evaluation[]
  /** X-Drawbridge-Flags, within its byte budget. */
  header: string
  /** Last time usage was marked from this answer; remarked at most once a second. */
  markedAt: number
}

/** Attributes that change from one request of the same user to the next. */
const PER_REQUEST_ATTRIBUTES = new Set(['ip', 'path', 'method', 'host'])
/** Enough for the active users of a large app; cleared wholesale when full (no LRU bookkeeping per hit). */
const MAX_CACHED_IDENTITIES = 10_000
const ANONYMOUS = '\u0000anonymous'

function planFor (table: CompiledFlags, now: number): Plan {
  const perRequest = table.list.some((cf) => cf.reads.some((attribute) => PER_REQUEST_ATTRIBUTES.has(attribute)))
  return { table, byIdentity: perRequest ? null : new Map(), validUntil: nextStepAt(table, now) }
}

/**
 * The header is bounded (flagsHeaderMaxBytes): an upstream behind Node, or
 * nginx with its 8 KiB default, answers every request 431/502 when one header
 * outgrows its limit. Keys and variant names are ASCII (flag-validate.ts), so
 * string length is byte length. Listing stops at the first enabled flag that
 * would not fit, so what is left out is always the tail in key order.
 * `mark`: count the answers as served (the gateway does; explain does not).
 */
export function evaluateAll (list: CompiledFlags['list'], evalCtx: EvaluationContext, now: number, maxBytes: number, onOverflow: () => void, mark = true): FlagsAnswer {
  const results = new Array<Evaluation>(list.length)
  let header = ''
  let full = false
  for (let i = 0; i < list.length; i++) {
    const cf = list[i] as CompiledFlags['list'][number]
    const ev = evaluateFlag(cf, evalCtx)
    results[i] = ev
    if (mark) markServed(cf, ev, now)
    if (!ev.value || full) continue
    const item = ev.variant === null ? cf.key : cf.key + '=' + ev.variant
    const next = header === '' ? item : header + ',' + item
    if (next.length > maxBytes) {
      full = true
      onOverflow()
      continue
    }
    header = next
  }
  return { results, header, markedAt: now }
}

function markAll (list: CompiledFlags['list'], answer: FlagsAnswer, now: number): void {
  answer.markedAt = now
  for (let i = 0; i < list.length; i++) markServed(list[i] as CompiledFlags['list'][number], answer.results[i] as Evaluation, now)
}

export function createRequestFlags (ctx: AppContext): RequestFlagsResolver {
  const runtime = flagRuntime(ctx)
  const identity = identityReader(ctx.config.flagsIdentity)
  let plan: Plan | null = null
  const maxBytes = ctx.config.flagsHeaderMaxBytes
  let warnedFor: CompiledFlags | null = null
  const overflowed = (table: CompiledFlags) => (): void => {
    if (warnedFor === table) return
    warnedFor = table
    ctx.logger.warn({ flagsHeaderMaxBytes: maxBytes }, 'X-Drawbridge-Flags would exceed flagsHeaderMaxBytes: enabled flags past the budget (in key order) are left out of the header; raise the setting or shorten flag keys')
  }

  return {
    resolve (req, normalizedPath, ip) {
      const table = runtime.table()
      if (table === null || table.list.length === 0) return NONE
      const now = Date.now()
      if (plan === null || plan.table !== table || now >= plan.validUntil) plan = planFor(table, now)
      const list = table.list
      const targetingKey = identity(req)
      let answer: FlagsAnswer | undefined
      const cache = plan.byIdentity
      if (cache !== null) {
        answer = cache.get(targetingKey ?? ANONYMOUS)
        if (answer !== undefined && now - answer.markedAt > 1000) markAll(list, answer, now)
      }
      if (answer === undefined) {
        const draws = randomDraws()
        answer = evaluateAll(list, { targetingKey, attributes: { ip, path: normalizedPath, method: req.method, host: readRawHeader(req.rawHeaders, 'host') }, now }, now, maxBytes, overflowed(table))
        // An answer that drew at random (`random` stickiness, or `default` with no identity) is not this user's to keep.
        if (cache !== null && randomDraws() === draws) {
          if (cache.size >= MAX_CACHED_IDENTITIES) cache.clear()
          cache.set(targetingKey ?? ANONYMOUS, answer)
        }
      }
      const gate = table.gates.length === 0 ? null : answeringGate(table.gates, answer.results, normalizedPath)
      if (gate !== null) return { header: '', gateStatus: gate.status }
      return answer.header === '' ? NONE : { header: answer.header, gateStatus: 0 }
    }
  }
}
