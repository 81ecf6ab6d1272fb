import type { MaintenanceView } from '../maintenance/admin-routes.js'
import { CidrError, parseCidr } from '../net/cidr-set.js'
import { createAdminClient } from './admin-client.js'
import { parseArgs, stringOption, type OptionSpec } from './args.js'
import { buildPatch } from './maintenance-window.js'
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
  --status CODE         the answer's status, 400-599 (default 503)
  --refresh SECONDS     ask browsers to reload the page every SECONDS
  --page FILE           serve this template for the window (--render is the
                        same); {{message}}, {{retryAfter}} and {{endsAt}} are
                        filled in; stored with the state, so every replica
                        serves it; without it, the gateway's --page setting
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
  status: 'string',
  refresh: 'string',
  page: 'string',
  render: 'string',
  secret: 'optional-string',
  'no-secret': 'boolean',
  keep: 'boolean',
  'keep-secret': 'boolean'
}

const CHANGE_OPTIONS = Object.keys(OPTIONS)

export { buildPatch, parseWhen } from './maintenance-window.js'
const SHOWN_FIELDS: Array<[keyof MaintenanceView, string]> = [
  ['enabled', 'enabled'], ['message', 'message'], ['retryAfter', 'retry-after'], ['startsAt', 'starts at'], ['endsAt', 'ends at'],
  ['mode', 'mode'], ['paths', 'paths'], ['exceptPaths', 'except'], ['allow', 'allow'], ['redirect', 'redirect'],
  ['status', 'status'], ['refresh', 'refresh'], ['page', 'page']
]

/** A stored page is shown by size, never by content. */
function pageSummary (page: string | null | undefined): string {
  return page === null || page === undefined ? '-' : `custom (${Buffer.byteLength(page)} bytes)`
}

/** "what changed" lines between two views (the secret is reported without its value). */
export function describeChanges (before: MaintenanceView, after: MaintenanceView): string[] {
  const show = (v: unknown): string => v === null ? '-' : Array.isArray(v) ? (v.length === 0 ? '-' : v.join(', ')) : String(v)
  const lines: string[] = []
  for (const [field, label] of SHOWN_FIELDS) {
    const a = field === 'page' ? pageSummary(before.page) : show(before[field])
    const b = field === 'page' ? pageSummary(after.page) : show(after[field])
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
    ['status', String(m.status ?? 503)],
    ['refresh', m.refresh === null || m.refresh === undefined ? '-' : `every ${m.refresh} s`],
    ['page', m.page === null || m.page === undefined ? 'the configured page' : pageSummary(m.page)],
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
