import type { Flag } from '../state/types.js'
import { createAdminClient, type AdminClient } from './admin-client.js'
import { parseArgs, stringOption, type OptionSpec, type ParsedArgs } from './args.js'
import { parseWhen } from './maintenance-window.js'
import { printJson, printLine, relativeTime, reportApiError, table, UsageError } from './output.js'

export const FLAGS_HELP = `Usage: drawbridge flags <action> [options]

Manage feature flags through the admin API.

Actions:
  list [--stale]                     all flags (--stale: unchanged and serving one value only for flagsStaleDays)
  get KEY                            one flag
  set KEY [options]                  create or change a flag (fields not given keep their value)
  set KEY --json-body '{...}'        change fields from JSON (fields not given keep their value;
                                     options given too are merged in); --replace: replace the whole flag
  enable KEY | disable KEY           turn a flag on or off
  delete KEY                         remove a flag and its overrides
  override KEY USER --on|--off|--variant NAME|--clear
                                     pin (or unpin) the flag for one user
  eval KEY --user ID [--context k=v,...]
                                     how the flag resolves for a user (and context attributes)

Options for set:
  --description TEXT        ("" clears)
  --on | --off              enabled or not
  --rollout PERCENT         0-100 ("" removes the rollout)
  --group-id ID             rollout bucket group (default: the flag key)
  --stickiness S            what the rollout hashes: default (user id, else
                            sessionId, else random), random, or an attribute
                            (targetingKey, sessionId, a custom field)
  --variant-stickiness S    what variant choices hash (same values; "" clears)
  --variants NAME:WEIGHT,...  e.g. control:50,treatment:50 ("" removes them)
  --gate-paths /P,...       paths that answer --gate-status while the flag is off ("" removes the gate)
  --gate-status CODE        default 404
  --requires MIGRATION      migration that must be applied before enabling ("" clears)
  --prerequisites FLAG[=on|=off|=VARIANT],...
                            flags that must evaluate so for the same user first
                            (FLAG alone: on); "" removes them
  --schedule WHEN=STEP,...  a ramp: STEP is a percentage, on or off; WHEN an
                            ISO date-time or +30m, +2h, +1d (e.g. +0m=10,+1h=50,+1d=100);
                            "" stops it where it is
  --json                    print the API's JSON instead of text

Connection:
  --admin-url URL           default: $DRAWBRIDGE_ADMIN_URL, else http://127.0.0.1:9090
  --admin-token TOKEN       default: $DRAWBRIDGE_ADMIN_TOKEN

Examples:
  drawbridge flags set new-checkout --on --rollout 25 --variants control:50,treatment:50
  drawbridge flags override new-checkout alice --variant treatment
  drawbridge flags eval new-checkout --user alice --context plan=pro,version=2.1.0
`

const OPTIONS: OptionSpec = {
  stale: 'boolean',
  'json-body': 'string',
  replace: 'boolean',
  description: 'string',
  on: 'boolean',
  off: 'boolean',
  rollout: 'string',
  'group-id': 'string',
  stickiness: 'string',
  'variant-stickiness': 'string',
  variants: 'string',
  'gate-paths': 'string',
  'gate-status': 'string',
  requires: 'string',
  prerequisites: 'string',
  schedule: 'string',
  variant: 'string',
  clear: 'boolean',
  user: 'string',
  context: 'list'
}

type FlagView = Flag & { lastEvaluatedAt?: string | null, stale?: { reason: string, servedValue: string | null, days: number } }

interface ResolvedFlag { key: string, enabled: boolean, value: unknown, variant: string, reason: string, hasOverride: boolean, errorCode?: string }

const path = (key: string): string => `/v1/flags/${encodeURIComponent(key)}`

function needKey (parsed: ParsedArgs, action: string, count = 1): string[] {
  const args = parsed.positionals
  if (args.length < count) throw new UsageError(`flags ${action}: missing ${count === 1 ? 'KEY' : 'KEY and USER'}`, 'drawbridge flags --help')
  if (args.length > count) throw new UsageError(`flags ${action}: unexpected argument "${args[count] ?? ''}"`)
  return args
}

/** `control:50,treatment:50` → variants; a weight defaults to 1. */
export function parseVariants (text: string): Array<{ name: string, weight: number }> {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '').map((item) => {
    const [name, weight] = item.split(':')
    if (name === undefined || name === '') throw new UsageError(`--variants: "${item}" has no name (expected NAME:WEIGHT)`)
    if (weight !== undefined && !/^\d+$/.test(weight)) throw new UsageError(`--variants: weight of "${name}" must be a whole number`)
    return { name, weight: weight === undefined ? 1 : Number(weight) }
  })
}

/** `new-api,theme=dark,legacy=off` → prerequisites; `=on`/`=off` ask for on or off, any other value names a variant. */
export function parsePrerequisites (text: string): Array<{ flag: string, enabled?: boolean, variant?: string }> {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '').map((item) => {
    const [flag = '', want] = item.split('=')
    if (flag === '') throw new UsageError(`--prerequisites: "${item}" has no flag key (expected FLAG, FLAG=off or FLAG=VARIANT)`)
    if (want === undefined || want === 'on') return { flag, enabled: true }
    if (want === 'off') return { flag, enabled: false }
    if (want === '') throw new UsageError(`--prerequisites: "${item}" names no variant after =`)
    return { flag, variant: want }
  })
}

/** `+0m=10,+1h=50,2026-12-24T00:00:00Z=off` → schedule steps, dates resolved now. */
export function parseSchedule (text: string, now = Date.now()): Array<{ at: string, percentage?: number, enabled?: boolean }> {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '').map((item) => {
    const eq = item.lastIndexOf('=')
    if (eq <= 0) throw new UsageError(`--schedule: "${item}" must be WHEN=STEP (e.g. +1h=50 or 2026-12-24T00:00:00Z=off)`)
    const at = parseWhen(item.slice(0, eq), 'schedule', now)
    if (at === null) throw new UsageError(`--schedule: "${item}" has no time`)
    const step = item.slice(eq + 1)
    if (step === 'on' || step === 'off') return { at, enabled: step === 'on' }
    const percentage = Number(step.replace(/%$/, ''))
    if (step === '' || !Number.isFinite(percentage) || percentage < 0 || percentage > 100) throw new UsageError(`--schedule: step "${step}" must be a percentage 0-100, on or off`)
    return { at, percentage }
  })
}

/** The fields the `set` options describe; only options given appear. */
export function fieldsFromOptions (parsed: ParsedArgs): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  const o = parsed.options
  if (o.on === true && o.off === true) throw new UsageError('--on and --off cannot be used together')
  if (o.on === true) body.enabled = true
  if (o.off === true) body.enabled = false
  const description = stringOption(parsed, 'description')
  if (description !== undefined) body.description = description === '' ? null : description
  const rollout = stringOption(parsed, 'rollout')
  const groupId = stringOption(parsed, 'group-id')
  const stickiness = stringOption(parsed, 'stickiness')
  if (rollout !== undefined) {
    if (rollout === '') {
      body.rollout = null
    } else {
      const percentage = Number(rollout.replace(/%$/, ''))
      if (!Number.isFinite(percentage) || percentage < 0 || percentage > 100) throw new UsageError(`--rollout: "${rollout}" must be a percentage 0-100`)
      body.rollout = { percentage, ...(groupId === undefined ? {} : { groupId }), ...(stickiness === undefined ? {} : { stickiness }) }
    }
  } else if (groupId !== undefined || stickiness !== undefined) {
    throw new UsageError(`--${groupId !== undefined ? 'group-id' : 'stickiness'} needs --rollout`)
  }
  const variantStickiness = stringOption(parsed, 'variant-stickiness')
  if (variantStickiness !== undefined) body.variantStickiness = variantStickiness === '' ? null : variantStickiness
  const variants = stringOption(parsed, 'variants')
  if (variants !== undefined) body.variants = variants === '' ? null : parseVariants(variants)
  const gatePaths = stringOption(parsed, 'gate-paths')
  const gateStatus = stringOption(parsed, 'gate-status')
  if (gatePaths !== undefined) {
    if (gatePaths === '') {
      body.gate = null
    } else {
      const status = gateStatus === undefined ? 404 : Number(gateStatus)
      if (!Number.isInteger(status)) throw new UsageError(`--gate-status: "${gateStatus ?? ''}" is not a status code`)
      body.gate = { paths: gatePaths.split(',').map((p) => p.trim()).filter((p) => p !== ''), status }
    }
  } else if (gateStatus !== undefined) {
    throw new UsageError('--gate-status needs --gate-paths')
  }
  const requires = stringOption(parsed, 'requires')
  if (requires !== undefined) body.requires = requires === '' ? null : requires
  const prerequisites = stringOption(parsed, 'prerequisites')
  if (prerequisites !== undefined) body.prerequisites = prerequisites === '' ? null : parsePrerequisites(prerequisites)
  const schedule = stringOption(parsed, 'schedule')
  if (schedule !== undefined) body.schedule = schedule === '' ? null : parseSchedule(schedule)
  return body
}

function describeRollout (r: NonNullable<Flag['rollout']>, key: string): string {
  const parts = [r.groupId !== undefined && r.groupId !== key ? `group ${r.groupId}` : '', r.stickiness === undefined ? '' : `sticky to ${r.stickiness}`].filter(Boolean)
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`
}

/** `plan+country, 20% → variants` : the attributes a rule reads, its rollout and what it serves. */
function describeRule (r: NonNullable<Flag['rules']>[number]): string {
  const attributes = [...(r.attribute === undefined ? [] : [r.attribute]), ...(r.conditions ?? []).map((c) => c.attribute)]
  const when = [attributes.join('+'), r.rollout === undefined ? '' : `${r.rollout.percentage}%`].filter(Boolean).join(', ')
  const serves = r.enabled === false ? 'off' : r.variant !== undefined ? r.variant : r.variants !== undefined ? r.variants.map((v) => `${v.name}:${v.weight}`).join('/') : 'on'
  return `${when} → ${serves}`
}

function describeFlag (f: FlagView): string {
  const rows: Array<[string, string]> = [
    ['description', f.description ?? '-'],
    ['rollout', f.rollout === null ? '-' : `${f.rollout.percentage}%${describeRollout(f.rollout, f.key)}`],
    ['variants', f.variants === null ? '-' : f.variants.map((v) => `${v.name}:${v.weight}`).join(', ') + (f.variantStickiness === undefined || f.variantStickiness === null ? '' : ` (sticky to ${f.variantStickiness})`)],
    ['rules', f.rules === null ? '-' : `${f.rules.length}: ${f.rules.map(describeRule).join('; ')}`],
    ['gate', f.gate === null ? '-' : `${f.gate.paths.join(', ')} → ${f.gate.status} while off`],
    ['requires', f.requires ?? '-'],
    ['schedule', (f.schedule ?? []).length === 0 ? '-' : (f.schedule ?? []).map((s) => `${s.at} ${[s.percentage === undefined ? '' : `${s.percentage}%`, s.enabled === undefined ? '' : s.enabled ? 'on' : 'off'].filter(Boolean).join(' ')}`).join('; ')],
    ['prerequisites', (f.prerequisites ?? []).length === 0 ? '-' : (f.prerequisites ?? []).map((p) => p.variant !== undefined ? `${p.flag}=${p.variant}` : p.enabled === false ? `${p.flag}=off` : p.flag).join(', ')],
    ['created', f.createdAt],
    ['updated', f.updatedAt],
    ['last evaluated', f.lastEvaluatedAt === undefined || f.lastEvaluatedAt === null ? 'never' : `${f.lastEvaluatedAt} (${relativeTime(Date.parse(f.lastEvaluatedAt))})`]
  ]
  return `${f.key}: ${f.enabled ? 'ON' : 'OFF'}\n${table(rows)}`
}

function listLine (f: FlagView): [string, string] {
  const parts = [f.enabled ? 'on ' : 'off']
  if (f.rollout !== null) parts.push(`${f.rollout.percentage}%`)
  if (f.variants !== null) parts.push(f.variants.map((v) => v.name).join('/'))
  if (f.gate !== null) parts.push(`gate ${f.gate.paths.join(',')}`)
  if (f.stale !== undefined) parts.push(f.stale.reason === 'unused' ? `stale: not evaluated in ${f.stale.days} d` : `stale: served only ${f.stale.servedValue ?? '?'} for ${f.stale.days} d`)
  return [f.key, parts.join('  ')]
}

async function show<T> (client: AdminClient, json: boolean, method: string, url: string, body: unknown, text: (value: T) => string): Promise<number> {
  const res = await client.request<T>(method, url, body)
  if (res.status >= 300) return reportApiError(res.status, res.body, json)
  if (json) printJson(res.status === 204 ? {} : res.body)
  else printLine(text(res.body))
  return 0
}

export async function run (args: string[]): Promise<number> {
  const [action, ...rest] = args
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    process.stdout.write(FLAGS_HELP)
    return action === undefined ? 2 : 0
  }
  const parsed = parseArgs(rest, OPTIONS)
  if (parsed.options.help === true) {
    process.stdout.write(FLAGS_HELP)
    return 0
  }
  const json = parsed.options.json === true
  const client = createAdminClient({ url: stringOption(parsed, 'admin-url'), token: stringOption(parsed, 'admin-token') })

  switch (action) {
    case 'list': {
      if (parsed.positionals.length > 0) throw new UsageError(`flags list: unexpected argument "${parsed.positionals[0] ?? ''}"`)
      return await show<{ flags: FlagView[] }>(client, json, 'GET', `/v1/flags${parsed.options.stale === true ? '?stale=true' : ''}`, undefined,
        (b) => b.flags.length === 0 ? (parsed.options.stale === true ? 'No stale flags' : 'No flags') : table(b.flags.map(listLine), ''))
    }
    case 'get': {
      const [key] = needKey(parsed, 'get') as [string]
      return await show<FlagView>(client, json, 'GET', path(key), undefined, describeFlag)
    }
    case 'set': {
      const [key] = needKey(parsed, 'set') as [string]
      const fields = fieldsFromOptions(parsed)
      const raw = stringOption(parsed, 'json-body')
      if (raw !== undefined) {
        let body: unknown
        try { body = JSON.parse(raw) } catch (err) { throw new UsageError(`--json-body: not JSON (${(err as Error).message})`) }
        if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new UsageError('--json-body must be a JSON object')
        Object.assign(fields, body, { ...fields })
        if (parsed.options.replace === true) return await show<FlagView>(client, json, 'PUT', path(key), fields, describeFlag)
      } else if (parsed.options.replace === true) {
        throw new UsageError('flags set: --replace needs --json-body (the whole flag)')
      }
      if (Object.keys(fields).length === 0) throw new UsageError('flags set: nothing to set (give options or --json-body)', 'drawbridge flags --help')
      // PATCH: the fields given change and the rest of the flag (rollout, gate, requires) stays; a new flag is created with PUT.
      const patched = await client.request<FlagView>('PATCH', path(key), fields)
      if (patched.status === 404) return await show<FlagView>(client, json, 'PUT', path(key), fields, describeFlag)
      if (patched.status >= 300) return reportApiError(patched.status, patched.body, json)
      if (json) printJson(patched.body)
      else printLine(describeFlag(patched.body))
      return 0
    }
    case 'enable':
    case 'disable': {
      const [key] = needKey(parsed, action) as [string]
      return await show<FlagView>(client, json, 'PATCH', path(key), { enabled: action === 'enable' }, (f) => `${f.key}: ${f.enabled ? 'ON' : 'OFF'}`)
    }
    case 'delete': {
      const [key] = needKey(parsed, 'delete') as [string]
      return await show(client, json, 'DELETE', path(key), undefined, () => `Deleted flag ${key} and its overrides`)
    }
    case 'override': {
      const [key, user] = needKey(parsed, 'override', 2) as [string, string]
      const o = parsed.options
      const variant = stringOption(parsed, 'variant')
      const chosen = [o.on === true, o.off === true, variant !== undefined, o.clear === true].filter(Boolean).length
      if (chosen !== 1) throw new UsageError('flags override: give exactly one of --on, --off, --variant NAME, --clear')
      const url = `${path(key)}/overrides/${encodeURIComponent(user)}`
      if (o.clear === true) return await show(client, json, 'DELETE', url, undefined, () => `Removed the override of ${key} for ${user}`)
      const body = variant !== undefined ? { variant } : { enabled: o.on === true }
      return await show<{ enabled?: boolean, variant?: string }>(client, json, 'PUT', url, body,
        (b) => `${key} for ${user}: ${b.variant !== undefined ? `variant ${b.variant}` : b.enabled === true ? 'ON' : 'OFF'} (override)`)
    }
    case 'eval': {
      const [key] = needKey(parsed, 'eval') as [string]
      const user = stringOption(parsed, 'user')
      if (user === undefined || user === '') throw new UsageError('flags eval: --user ID is required')
      const query = new URLSearchParams()
      const context = parsed.options.context
      for (const pair of Array.isArray(context) ? context : []) {
        const eq = pair.indexOf('=')
        if (eq <= 0) throw new UsageError(`--context: "${pair}" is not k=v`)
        query.append(pair.slice(0, eq), pair.slice(eq + 1))
      }
      const qs = query.size > 0 ? `?${query.toString()}` : ''
      const res = await client.request<{ userId: string, flags: ResolvedFlag[] }>('GET', `/v1/users/${encodeURIComponent(user)}/flags${qs}`)
      if (res.status !== 200) return reportApiError(res.status, res.body, json)
      const found = res.body.flags.find((f) => f.key === key)
      if (found === undefined) return reportApiError(404, { message: `No flag ${key}`, code: 'DRAWBRIDGE_ERR_NOT_FOUND' }, json)
      if (json) {
        printJson(found)
      } else {
        const value = found.errorCode !== undefined ? `${found.errorCode}` : found.enabled ? 'ON' : 'OFF'
        const details = [`reason ${found.reason}`, `value ${JSON.stringify(found.value)}`, `variant ${found.variant}`]
        if (found.hasOverride) details.push('override')
        printLine(`${key} for ${user}: ${value} (${details.join(', ')})`)
      }
      return 0
    }
    default:
      throw new UsageError(`flags: unknown action "${action}" (expected list, get, set, enable, disable, delete, override or eval)`, 'drawbridge flags --help')
  }
}
