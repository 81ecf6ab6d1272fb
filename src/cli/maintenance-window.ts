import { readFileSync } from 'node:fs'
import { parseIsoDateTime } from '../input/iso-date.js'
import { redirectProblem } from '../input/redirect-target.js'
import { hasControlChars } from '../input/safe-text.js'
import { MAINTENANCE_STATUS_RANGE, MAX_PAGE_CHARS, MAX_REFRESH_SECONDS } from '../state/types.js'
import { stringOption, type ParsedArgs } from './args.js'
import { UsageError } from './output.js'

/**
 * `maintenance on|off` options turned into the PATCH body: each value checked
 * as the server would check it, so a mistake is a usage error (exit 2) before
 * any request is sent.
 */

/** Options that only make sense when starting a window. */
const WINDOW_OPTIONS = ['message', 'retry', 'ends-at', 'starts-at', 'paths', 'mode', 'redirect', 'status', 'refresh', 'page', 'render', 'secret', 'keep']

/** A length of time as every option writes it: `500ms`, `30s`, `5m` (or `5min`), `2h`, `1d`. */
const DURATION = /^(\d+)(ms|s|m|min|h|d)$/
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** `30s` → 30000; null when `text` is not a duration. */
function durationMs (text: string): number | null {
  const match = DURATION.exec(text)
  return match === null ? null : Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}

/** A relative time is a duration from now: `+30m`. */
const isRelative = (value: string): boolean => value.startsWith('+') && durationMs(value.slice(1)) !== null

/**
 * `--drain-timeout 30s`, `--max 2m`: a duration in milliseconds, within
 * `range` (inclusive, in ms); anything else is a usage error naming `option`.
 */
export function parseDuration (value: string, option: string, range: { minimum: number, maximum: number } = { minimum: 0, maximum: Number.MAX_SAFE_INTEGER }): number {
  const ms = durationMs(value)
  if (ms === null) throw new UsageError(`--${option}: "${value}" is not a duration (e.g. 500ms, 30s, 5m, 2h)`)
  if (ms < range.minimum || ms > range.maximum) throw new UsageError(`--${option}: ${value} is out of range (${formatDuration(range.minimum)} to ${formatDuration(range.maximum)})`)
  return ms
}

/** 30000 → `30s`, 600000 → `10m`, 1500 → `1500ms`: the largest unit that writes it whole. */
export function formatDuration (ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`
  }
  return `${ms}ms`
}

/** `+30m` → now + 30 minutes as ISO; an absolute date passes through for the server to check. */
export function parseWhen (value: string, option: string, now = Date.now()): string | null {
  if (value === '' || value === 'none') return null
  if (value === 'now') return new Date(now).toISOString()
  const relative = value.startsWith('+') ? durationMs(value.slice(1)) : null
  if (relative !== null) {
    const at = new Date(now + relative)
    if (Number.isNaN(at.getTime())) throw new UsageError(`--${option}: "${value}" is further away than a date can be`)
    return at.toISOString()
  }
  // The same strict check as the server's, so 2026-02-30 is a usage error here rather than March 2nd there.
  if (parseIsoDateTime(value) === null) throw new UsageError(`--${option}: "${value}" is not a real date-time (use ISO 8601 with a timezone, e.g. 2026-11-22T03:00:00Z, or +30m, +2h, +1d)`)
  return value
}

function checkPaths (value: ParsedArgs['options'][string], option: string): ParsedArgs['options'][string] {
  if (!Array.isArray(value)) return value
  const bad = value.find((p) => hasControlChars(p))
  if (bad !== undefined) throw new UsageError(`--${option}: ${JSON.stringify(bad)} contains control characters`)
  return value
}

/** `--retry`: whole seconds, or a time to retry at (Laravel's `--retry` takes seconds; a date is what people also type). */
export function parseRetry (value: string, now = Date.now()): number | null {
  if (value === '') return null
  if (/^\d+$/.test(value)) return Number(value)
  const at = isRelative(value) ? Date.parse(parseWhen(value, 'retry', now) as string) : Date.parse(value)
  if (Number.isNaN(at)) throw new UsageError(`--retry: "${value}" is neither a whole number of seconds nor a date-time (300, +30m, 2026-11-22T03:00:00Z)`)
  if (at <= now) throw new UsageError(`--retry: ${value} is in the past`)
  return Math.ceil((at - now) / 1000)
}

/** `--status 503`: a whole number in the API's range; "" goes back to 503. */
export function parseStatus (value: string): number | null {
  if (value === '') return null
  const code = /^\d{3}$/.test(value) ? Number(value) : NaN
  if (!(code >= MAINTENANCE_STATUS_RANGE.minimum && code <= MAINTENANCE_STATUS_RANGE.maximum)) {
    throw new UsageError(`--status: "${value}" must be an HTTP status from ${MAINTENANCE_STATUS_RANGE.minimum} to ${MAINTENANCE_STATUS_RANGE.maximum} (503 is the default)`)
  }
  return code
}

/** `--refresh 15`: whole seconds; "" removes it. */
export function parseRefresh (value: string): number | null {
  if (value === '') return null
  const seconds = /^\d+$/.test(value) ? Number(value) : NaN
  if (!(seconds >= 1 && seconds <= MAX_REFRESH_SECONDS)) throw new UsageError(`--refresh: "${value}" must be a whole number of seconds from 1 to ${MAX_REFRESH_SECONDS}`)
  return seconds
}

/** `--page FILE` (or `--render FILE`): the template's text, sent with the state; "" goes back to the configured page. */
export function readPage (file: string, option: string): string | null {
  if (file === '') return null
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new UsageError(`--${option}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (text.length > MAX_PAGE_CHARS) throw new UsageError(`--${option}: ${file} has ${text.length} characters; a page may have ${MAX_PAGE_CHARS}`)
  if (text.trim() === '') throw new UsageError(`--${option}: ${file} is empty`)
  return text
}

/** A window's fields as a fresh \`on\` sets them when the command does not give them. */
const FRESH_WINDOW = { message: null, retryAfter: null, startsAt: null, endsAt: null, mode: 'full', paths: null, redirect: null, status: null, refresh: null, page: null } as const

/**
 * The PATCH body for \`on\`/\`off\`. \`on\` starts a fresh window (window fields
 * reset to what this command gives) unless \`--keep\`; \`off\` ends the window
 * and voids the secret unless \`--keep-secret\`. Allow and except lists are
 * sent only when given: they are standing configuration.
 */
export function buildPatch (parsed: ParsedArgs, enabled: boolean, now = Date.now()): Record<string, unknown> {
  const keep = parsed.options.keep === true
  if (!enabled) {
    const given = WINDOW_OPTIONS.find((name) => parsed.options[name] !== undefined)
    if (given !== undefined) throw new UsageError(`maintenance off: --${given} sets up a window; give it to "maintenance on"`)
  } else if (parsed.options['keep-secret'] !== undefined) {
    throw new UsageError('maintenance on: --keep-secret is for "maintenance off" (on keeps the secret unless --secret or --no-secret changes it)')
  }
  const patch: Record<string, unknown> = enabled ? (keep ? { enabled } : { enabled, ...FRESH_WINDOW }) : { enabled, ...FRESH_WINDOW }
  if (!enabled && parsed.options['keep-secret'] !== true) patch.secret = null
  const message = stringOption(parsed, 'message')
  if (message !== undefined) patch.message = message === '' ? null : message
  const retry = stringOption(parsed, 'retry')
  if (retry !== undefined) patch.retryAfter = parseRetry(retry, now)
  const endsAt = stringOption(parsed, 'ends-at')
  if (endsAt !== undefined) patch.endsAt = parseWhen(endsAt, 'ends-at', now)
  // A window that has already ended would turn maintenance "on" with every request passing: a typo in a date, not an intent.
  if (typeof patch.endsAt === 'string' && Date.parse(patch.endsAt) <= now) throw new UsageError(`--ends-at: ${endsAt ?? ''} is in the past; the window would be over before it starts`)
  const startsAt = stringOption(parsed, 'starts-at')
  if (startsAt !== undefined) patch.startsAt = parseWhen(startsAt, 'starts-at', now)
  if (parsed.options.allow !== undefined) patch.allow = parsed.options.allow
  if (parsed.options.except !== undefined) patch.exceptPaths = checkPaths(parsed.options.except, 'except')
  const paths = checkPaths(parsed.options.paths, 'paths')
  if (paths !== undefined) patch.paths = Array.isArray(paths) && paths.length > 0 ? paths : null
  const mode = stringOption(parsed, 'mode')
  if (mode !== undefined) {
    if (mode !== 'full' && mode !== 'read-only') throw new UsageError(`--mode: "${mode}" must be full or read-only`)
    patch.mode = mode
  }
  const redirect = stringOption(parsed, 'redirect')
  if (redirect !== undefined && redirect !== '') {
    const problem = redirectProblem(redirect)
    if (problem !== null) throw new UsageError(`--redirect ${problem} (got ${JSON.stringify(redirect)})`)
  }
  if (redirect !== undefined) patch.redirect = redirect === '' ? null : redirect
  const status = stringOption(parsed, 'status')
  if (status !== undefined) patch.status = parseStatus(status)
  const refresh = stringOption(parsed, 'refresh')
  if (refresh !== undefined) patch.refresh = parseRefresh(refresh)
  const render = stringOption(parsed, 'render')
  const page = stringOption(parsed, 'page')
  if (render !== undefined && page !== undefined) throw new UsageError('--page and --render are the same option; give one')
  if (page !== undefined || render !== undefined) patch.page = readPage((page ?? render) as string, page !== undefined ? 'page' : 'render')
  const secret = parsed.options.secret
  if (secret !== undefined && parsed.options['no-secret'] === true) throw new UsageError('--secret and --no-secret cannot be used together')
  if (secret !== undefined) patch.secret = secret === true ? true : secret === '' ? null : secret
  if (parsed.options['no-secret'] === true) patch.secret = null
  return patch
}
