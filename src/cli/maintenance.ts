import type { MaintenanceView } from '../maintenance/admin-routes.js'
import { parseIsoDateTime } from '../input/iso-date.js'
import { redirectProblem } from '../input/redirect-target.js'
import { hasControlChars } from '../input/safe-text.js'
import { CidrError, parseCidr } from '../net/cidr-set.js'
import { createAdminClient } from './admin-client.js'
import { parseArgs, stringOption, type OptionSpec, type ParsedArgs } from './args.js'
import { printJson, printLine, relativeTime, reportApiError, table, UsageError } from './output.js'

export const MAINTENANCE_HELP = `Usage: drawbridge maintenance on|off|status [options]
       (down is on, up is off, as with Laravel's artisan)
       drawbridge maintenance allow|except|paths add|remove VALUE... [options]

Turn maintenance mode on or off, or show it, through the admin API.

allow|except|paths add|remove edits single entries of the allowlist (CIDRs),
the except paths or the scoped paths. The server applies the edit to its
newest list, so concurrent edits never lose one another (docs/concurrency.md).

Each "on" starts a fresh window: message, retry, start, end, mode, paths and
redirect are what this command gives, and anything left out is reset (use
--keep to change only what you give). The allowlist and the except paths are
standing configuration: they persist until you change them.
"off" ends the window and voids the bypass secret, so its URL and cookies stop
working (--keep-secret keeps them for next time).

Window (on):
  --message TEXT        message on the maintenance page
  --retry WHEN          Retry-After: seconds (300), or a time to retry at
                        (+30m, 2026-11-22T03:00:00Z); default: until --ends-at
  --ends-at WHEN        ISO date-time, or relative: +30m, +2h, +1d
  --starts-at WHEN      schedule the start the same way
  --mode full|read-only read-only lets GET, HEAD and OPTIONS through
  --paths PATH,...      block only these path prefixes
  --redirect URL        answer 307 to URL instead of the page
  --secret [VALUE]      bypass secret; without a value one is generated;
                        --secret "" removes it (as does --no-secret)
  --keep                merge into the current window instead of starting afresh

Standing configuration (on or off):
  --allow CIDR,...      client addresses let through (IPv4/IPv6 CIDRs); "" clears
  --except PATH,...     path prefixes never blocked (e.g. /healthz); "" clears

off:
  --keep-secret         keep the bypass secret (and its cookies) for the next window

Output:
  --json                print the API's JSON instead of text

Connection:
  --admin-url URL       default: $DRAWBRIDGE_ADMIN_URL, else http://127.0.0.1:9090
  --admin-token TOKEN   default: $DRAWBRIDGE_ADMIN_TOKEN

Examples:
  drawbridge maintenance on --message "Upgrading the database" --ends-at +30m --secret
  drawbridge maintenance on --allow 10.0.0.0/8 --except /healthz
  drawbridge maintenance allow add 10.0.0.0/8 2001:db8::/32
  drawbridge maintenance except remove /healthz
  drawbridge maintenance status
  drawbridge maintenance off
`

const OPTIONS: OptionSpec = {
  message: 'string',
  retry: 'string',
  'ends-at': 'string',
  'starts-at': 'string',
  allow: 'list',
  except: 'list',
  paths: 'list',
  mode: 'string',
  redirect: 'string',
  secret: 'optional-string',
  'no-secret': 'boolean',
  keep: 'boolean',
  'keep-secret': 'boolean'
}

const CHANGE_OPTIONS = Object.keys(OPTIONS)
/** Options that only make sense when starting a window. */
const WINDOW_OPTIONS = ['message', 'retry', 'ends-at', 'starts-at', 'paths', 'mode', 'redirect', 'secret', 'keep']

const RELATIVE = /^\+(\d+)(s|m|min|h|d)$/

/** `+30m` → now + 30 minutes as ISO; an absolute date passes through for the server to check. */
export function parseWhen (value: string, option: string, now = Date.now()): string | null {
  if (value === '' || value === 'none') return null
  if (value === 'now') return new Date(now).toISOString()
  const relative = RELATIVE.exec(value)
  if (relative !== null) {
    const unit = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's']
    const at = new Date(now + Number(relative[1]) * unit)
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
  const at = RELATIVE.test(value) ? Date.parse(parseWhen(value, 'retry', now) as string) : Date.parse(value)
  if (Number.isNaN(at)) throw new UsageError(`--retry: "${value}" is neither a whole number of seconds nor a date-time (300, +30m, 2026-11-22T03:00:00Z)`)
  if (at <= now) throw new UsageError(`--retry: ${value} is in the past`)
  return Math.ceil((at - now) / 1000)
}

/** A window's fields as a fresh \`on\` sets them when the command does not give them. */
const FRESH_WINDOW = { message: null, retryAfter: null, startsAt: null, endsAt: null, mode: 'full', paths: null, redirect: null } as const

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
  const secret = parsed.options.secret
  if (secret !== undefined && parsed.options['no-secret'] === true) throw new UsageError('--secret and --no-secret cannot be used together')
  if (secret !== undefined) patch.secret = secret === true ? true : secret === '' ? null : secret
  if (parsed.options['no-secret'] === true) patch.secret = null
  return patch
}

const SHOWN_FIELDS: Array<[keyof MaintenanceView, string]> = [
  ['enabled', 'enabled'], ['message', 'message'], ['retryAfter', 'retry-after'], ['startsAt', 'starts at'], ['endsAt', 'ends at'],
  ['mode', 'mode'], ['paths', 'paths'], ['exceptPaths', 'except'], ['allow', 'allow'], ['redirect', 'redirect']
]

/** "what changed" lines between two views (the secret is reported without its value). */
export function describeChanges (before: MaintenanceView, after: MaintenanceView): string[] {
  const show = (v: unknown): string => v === null ? '-' : Array.isArray(v) ? (v.length === 0 ? '-' : v.join(', ')) : String(v)
  const lines: string[] = []
  for (const [field, label] of SHOWN_FIELDS) {
    const a = show(before[field])
    const b = show(after[field])
    if (a !== b) lines.push(`  ${label}: ${a} → ${b}`)
  }
  if (before.bypassUrl !== after.bypassUrl) {
    lines.push(after.bypassUrl === null ? '  bypass secret: removed (its URL and cookies no longer work)' : before.bypassUrl === null ? '  bypass secret: set' : '  bypass secret: replaced (old URL and cookies no longer work)')
  }
  return lines
}

function headline (m: MaintenanceView, now: number): string {
  if (!m.enabled) return 'Maintenance is OFF'
  const mode = m.mode === 'read-only' ? ' (read-only: GET, HEAD and OPTIONS pass)' : ''
  if (m.startsAt !== null && Date.parse(m.startsAt) > now) return `Maintenance is SCHEDULED to start ${relativeTime(Date.parse(m.startsAt), now)}${mode}`
  if (m.endsAt !== null && Date.parse(m.endsAt) <= now) return `Maintenance is enabled but its window ended ${relativeTime(Date.parse(m.endsAt), now)}: requests pass`
  return `Maintenance is ON${mode}`
}

export function describeMaintenance (m: MaintenanceView, now = Date.now()): string {
  const when = (iso: string | null): string => iso === null ? '-' : `${iso} (${relativeTime(Date.parse(iso), now)})`
  const rows: Array<[string, string]> = [
    ['message', m.message ?? '-'],
    ['retry-after', m.retryAfter === null ? (m.endsAt === null ? '-' : 'until the end of the window') : `${m.retryAfter} s`],
    ['starts at', when(m.startsAt)],
    ['ends at', when(m.endsAt)],
    ['paths', m.paths === null ? 'all' : m.paths.join(', ')],
    ['except', m.exceptPaths.length === 0 ? '-' : m.exceptPaths.join(', ')],
    ['allow', m.allow.length === 0 ? '-' : m.allow.length > 5 ? `${m.allow.slice(0, 5).join(', ')} and ${m.allow.length - 5} more` : m.allow.join(', ')],
    ['redirect', m.redirect ?? '-'],
    ['bypass URL', m.bypassUrl ?? '-'],
    ['updated', m.updatedAt === null ? 'never' : `${m.updatedAt} by ${m.updatedBy ?? 'unknown'}`]
  ]
  return `${headline(m, now)}\n${table(rows)}`
}

const LISTS = {
  allow: { field: 'allow', add: 'allowAdd', remove: 'allowRemove', what: 'CIDR' },
  except: { field: 'exceptPaths', add: 'exceptPathsAdd', remove: 'exceptPathsRemove', what: 'path' },
  paths: { field: 'paths', add: 'pathsAdd', remove: 'pathsRemove', what: 'path' }
} as const

/** `allow add 10.0.0.0/8` → `{"allowAdd": ["10.0.0.0/8"]}`; bad values are usage errors (exit 2) before any request. */
export function buildListEdit (list: string, args: string[]): { field: string, body: Record<string, string[]> } {
  const spec = Object.hasOwn(LISTS, list) ? LISTS[list as keyof typeof LISTS] : undefined
  if (spec === undefined) throw new UsageError(`maintenance: unknown list "${list}"`)
  const [verb, ...values] = args
  if (verb !== 'add' && verb !== 'remove') {
    throw new UsageError(`maintenance ${list}: expected add or remove${verb === undefined ? '' : ` (got "${verb}")`}`, `drawbridge maintenance ${list} add ${spec.what === 'CIDR' ? '10.0.0.0/8' : '/healthz'}`)
  }
  if (values.length === 0) throw new UsageError(`maintenance ${list} ${verb}: give at least one ${spec.what}`)
  for (const value of values) {
    if (spec.what === 'CIDR') {
      try {
        parseCidr(value)
      } catch (err) {
        if (err instanceof CidrError) throw new UsageError(`maintenance ${list} ${verb}: ${err.message}`)
        throw err
      }
    } else if (!value.startsWith('/')) {
      throw new UsageError(`maintenance ${list} ${verb}: "${value}" is not a path (it must start with /)`)
    }
  }
  return { field: spec.field, body: { [verb === 'add' ? spec.add : spec.remove]: values } }
}

async function runListEdit (list: string, rest: string[]): Promise<number> {
  const parsed = parseArgs(rest, {})
  if (parsed.options.help === true) {
    process.stdout.write(MAINTENANCE_HELP)
    return 0
  }
  const { field, body } = buildListEdit(list, parsed.positionals)
  const client = createAdminClient({ url: stringOption(parsed, 'admin-url'), token: stringOption(parsed, 'admin-token') })
  const res = await client.request<MaintenanceView>('PATCH', '/v1/maintenance', body)
  const json = parsed.options.json === true
  if (res.status !== 200) return reportApiError(res.status, res.body, json)
  if (json) {
    printJson(res.body)
  } else {
    const entries = (res.body as unknown as Record<string, string[] | null>)[field]
    printLine(`${field}: ${entries === null || entries === undefined || entries.length === 0 ? (field === 'paths' ? 'all paths' : '-') : entries.join(', ')}`)
  }
  return 0
}

export async function run (args: string[]): Promise<number> {
  const [action, ...rest] = args
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    process.stdout.write(MAINTENANCE_HELP)
    return action === undefined ? 2 : 0
  }
  if (action === 'allow' || action === 'except' || action === 'paths') return await runListEdit(action, rest)
  const verb = action === 'down' ? 'on' : action === 'up' ? 'off' : action
  if (verb !== 'on' && verb !== 'off' && verb !== 'status') {
    throw new UsageError(`maintenance: unknown action "${action}" (expected on, off, status, down/up, or allow/except/paths add|remove)`, 'drawbridge maintenance --help')
  }
  const parsed = parseArgs(rest, OPTIONS)
  if (parsed.options.help === true) {
    process.stdout.write(MAINTENANCE_HELP)
    return 0
  }
  if (parsed.positionals.length > 0) throw new UsageError(`maintenance ${action}: unexpected argument "${parsed.positionals[0] ?? ''}"`)
  const json = parsed.options.json === true
  if (verb === 'status') {
    const given = CHANGE_OPTIONS.find((name) => parsed.options[name] !== undefined)
    if (given !== undefined) throw new UsageError(`maintenance status: --${given} changes the state; use "maintenance on" or "maintenance off"`)
  }
  const body = verb === 'status' ? undefined : buildPatch(parsed, verb === 'on')

  const client = createAdminClient({ url: stringOption(parsed, 'admin-url'), token: stringOption(parsed, 'admin-token') })
  // Before a change: the current state, to say "already down/up" and what changed.
  const current = await client.request<MaintenanceView>('GET', '/v1/maintenance')
  if (current.status !== 200) return reportApiError(current.status, current.body, json)
  const res = verb === 'status' ? current : await client.request<MaintenanceView>('PATCH', '/v1/maintenance', body)
  if (res.status !== 200) return reportApiError(res.status, res.body, json)

  if (json) {
    printJson(res.body)
  } else {
    if (verb !== 'status') {
      const was = current.body.enabled
      if (was === (verb === 'on')) printLine(verb === 'on' ? `Maintenance was already on (down): ${parsed.options.keep === true ? 'changing its window' : 'starting its window afresh'}.` : 'Maintenance was already off (up).')
      const changes = describeChanges(current.body, res.body)
      printLine(changes.length === 0 ? 'Nothing changed.' : `Changed:\n${changes.join('\n')}`)
      printLine()
    }
    printLine(describeMaintenance(res.body))
    if (body?.secret !== undefined && res.body.bypassUrl !== null) {
      printLine()
      printLine(`Bypass URL (opening it sets a cookie that lets the browser through): ${res.body.bypassUrl}`)
    }
  }
  return 0
}
