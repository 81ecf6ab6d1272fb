import type { MaintenanceView } from '../admin/maintenance-routes.js'
import { CidrError, parseCidr } from '../maintenance/cidr-set.js'
import { createAdminClient } from './admin-client.js'
import { parseArgs, stringOption, type OptionSpec, type ParsedArgs } from './args.js'
import { printJson, printLine, relativeTime, reportApiError, table, UsageError } from './output.js'

export const MAINTENANCE_HELP = `Usage: drawbridge maintenance on|off|status [options]
       drawbridge maintenance allow|except|paths add|remove VALUE... [options]

Turn maintenance mode on or off, or show it, through the admin API.

allow|except|paths add|remove edits single entries of the allowlist (CIDRs),
the except paths or the scoped paths. The server applies the edit to its
newest list, so concurrent edits never lose one another (docs/concurrency.md).

Options (on/off; a value of "" clears the setting):
  --message TEXT        message on the maintenance page
  --retry SECONDS       Retry-After (default: derived from --ends-at)
  --ends-at WHEN        ISO date-time, or relative: +30m, +2h, +1d
  --starts-at WHEN      schedule the start the same way
  --allow CIDR,...      client addresses let through (IPv4/IPv6 CIDRs)
  --except PATH,...     path prefixes never blocked (e.g. /healthz)
  --paths PATH,...      block only these path prefixes
  --mode full|read-only read-only lets GET, HEAD and OPTIONS through
  --redirect URL        answer 307 to URL instead of the page
  --secret [VALUE]      bypass secret; without a value one is generated
  --no-secret           remove the bypass secret
  --json                print the API's JSON instead of text

Connection:
  --admin-url URL       default: $DRAWBRIDGE_ADMIN_URL, else http://127.0.0.1:9090
  --admin-token TOKEN   default: $DRAWBRIDGE_ADMIN_TOKEN

Examples:
  drawbridge maintenance on --message "Upgrading the database" --ends-at +30m --secret
  drawbridge maintenance on --allow 10.0.0.0/8 --except /healthz
  drawbridge maintenance allow add 10.0.0.0/8 2001:db8::/32
  drawbridge maintenance except remove /healthz
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
  'no-secret': 'boolean'
}

const CHANGE_OPTIONS = Object.keys(OPTIONS)

/** `+30m` → now + 30 minutes as ISO; an absolute date passes through for the server to check. */
export function parseWhen (value: string, option: string, now = Date.now()): string | null {
  if (value === '' || value === 'none') return null
  if (value === 'now') return new Date(now).toISOString()
  const relative = /^\+(\d+)(s|m|min|h|d)$/.exec(value)
  if (relative !== null) {
    const unit = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's']
    return new Date(now + Number(relative[1]) * unit).toISOString()
  }
  if (Number.isNaN(Date.parse(value))) throw new UsageError(`--${option}: "${value}" is not a date-time (use ISO 8601, e.g. 2026-11-22T03:00:00Z, or +30m, +2h, +1d)`)
  return value
}

/** The PATCH body for `on`/`off` from the options given; options left out are not sent, so they keep their value. */
export function buildPatch (parsed: ParsedArgs, enabled: boolean): Record<string, unknown> {
  const patch: Record<string, unknown> = { enabled }
  const message = stringOption(parsed, 'message')
  if (message !== undefined) patch.message = message === '' ? null : message
  const retry = stringOption(parsed, 'retry')
  if (retry !== undefined) {
    if (retry !== '' && !/^\d+$/.test(retry)) throw new UsageError(`--retry: "${retry}" is not a whole number of seconds`)
    patch.retryAfter = retry === '' ? null : Number(retry)
  }
  const endsAt = stringOption(parsed, 'ends-at')
  if (endsAt !== undefined) patch.endsAt = parseWhen(endsAt, 'ends-at')
  const startsAt = stringOption(parsed, 'starts-at')
  if (startsAt !== undefined) patch.startsAt = parseWhen(startsAt, 'starts-at')
  if (parsed.options.allow !== undefined) patch.allow = parsed.options.allow
  if (parsed.options.except !== undefined) patch.exceptPaths = parsed.options.except
  const paths = parsed.options.paths
  if (paths !== undefined) patch.paths = Array.isArray(paths) && paths.length > 0 ? paths : null
  const mode = stringOption(parsed, 'mode')
  if (mode !== undefined) {
    if (mode !== 'full' && mode !== 'read-only') throw new UsageError(`--mode: "${mode}" must be full or read-only`)
    patch.mode = mode
  }
  const redirect = stringOption(parsed, 'redirect')
  if (redirect !== undefined) patch.redirect = redirect === '' ? null : redirect
  const secret = parsed.options.secret
  if (secret !== undefined && parsed.options['no-secret'] === true) throw new UsageError('--secret and --no-secret cannot be used together')
  if (secret !== undefined) patch.secret = secret === true || secret === '' ? true : secret
  if (parsed.options['no-secret'] === true) patch.secret = null
  return patch
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
  if (action !== 'on' && action !== 'off' && action !== 'status') {
    throw new UsageError(`maintenance: unknown action "${action}" (expected on, off, status, allow, except or paths)`, 'drawbridge maintenance --help')
  }
  const parsed = parseArgs(rest, OPTIONS)
  if (parsed.options.help === true) {
    process.stdout.write(MAINTENANCE_HELP)
    return 0
  }
  if (parsed.positionals.length > 0) throw new UsageError(`maintenance ${action}: unexpected argument "${parsed.positionals[0] ?? ''}"`)
  const json = parsed.options.json === true
  if (action === 'status') {
    const given = CHANGE_OPTIONS.find((name) => parsed.options[name] !== undefined)
    if (given !== undefined) throw new UsageError(`maintenance status: --${given} changes the state; use "maintenance on" or "maintenance off"`)
  }
  const body = action === 'status' ? undefined : buildPatch(parsed, action === 'on')

  const client = createAdminClient({ url: stringOption(parsed, 'admin-url'), token: stringOption(parsed, 'admin-token') })
  const res = action === 'status'
    ? await client.request<MaintenanceView>('GET', '/v1/maintenance')
    : await client.request<MaintenanceView>('PATCH', '/v1/maintenance', body)
  if (res.status !== 200) return reportApiError(res.status, res.body, json)

  if (json) {
    printJson(res.body)
  } else {
    printLine(describeMaintenance(res.body))
    if (body?.secret !== undefined && res.body.bypassUrl !== null) {
      printLine()
      printLine(`Bypass URL (opening it sets a cookie that lets the browser through): ${res.body.bypassUrl}`)
    }
  }
  return 0
}
