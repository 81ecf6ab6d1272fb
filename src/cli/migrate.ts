import type { Finding } from '../migrations/analyzer.js'
import type { MigrationStatusReport } from '../migrations/migration-service.js'
import type { RunRecord, RunStep } from '../migrations/run-types.js'
import { createAdminClient } from './admin-client.js'
import { parseArgs, stringOption, type OptionSpec, type ParsedArgs } from './args.js'
import { startAndFollow } from './follow-job.js'
import { rehearse, REHEARSE_OPTIONS } from './migrate-rehearse.js'
import { printJson, printLine, reportApiError, table, UsageError } from './output.js'
import { formatBytes } from '../state/budgets.js'

export const MIGRATE_HELP = `Usage: drawbridge migrate status|analyze|rehearse|up [options]

PostgreSQL migrations, run by the gateway (it needs DRAWBRIDGE_DATABASE_URL).

  status    applied, pending and drifted migrations; the last run and backup
  analyze   findings for the pending migrations (exit 1 if any is high)
  rehearse  apply the pending migrations to a scratch copy and measure them:
            per statement its duration, the table locks it held and for how
            long, whether it rewrote a table (exit 1 if the rehearsal fails)
  up        apply pending migrations, showing progress live (exit 1 if the run fails)

Options for rehearse:
  --source live|backup      live (default): a read-only pg_dump of the database;
                            backup: a file in the backup directory (--backup)
  --backup FILE             rehearse on this backup (implies --source backup)
  --keep                    keep the scratch database afterwards
  --lock-timeout MS, --statement-timeout MS   as for up

Options for up:
  --dry-run                 run each pending migration in a transaction that is rolled back
  --step N                  apply at most N migrations
  --maintenance auto|always|never
                            auto (default): open a maintenance window only when a
                            migration needs one (-- drawbridge:maintenance, or an
                            allowed high-severity finding)
  --pause                   hold traffic while the migrations run (a pause, up to
                            pauseMaxMs) instead of opening a maintenance window
  --message TEXT            maintenance message while the window is open
  --retry SECONDS           Retry-After while the window is open
  --backup                  pg_dump -Fc before the first migration
  --allow-dangerous         run despite high-severity findings
  --on-failure keep|restore keep (default): leave maintenance on after a failure;
                            restore: put it back as it was
  --lock-timeout MS         lock_timeout per statement (default 5000)
  --lock-retries N          retries after a lock timeout (default 3)
  --statement-timeout MS    statement_timeout (default 3600000)
  --require-rehearsal       refuse to run unless a rehearsal of exactly these
                            files succeeded in the last 24 h (its durations
                            become the page's estimate in any case)
  --json                    print the API's JSON instead of text

Connection:
  --admin-url URL           default: $DRAWBRIDGE_ADMIN_URL, else http://127.0.0.1:9090
  --admin-token TOKEN       default: $DRAWBRIDGE_ADMIN_TOKEN

Examples:
  drawbridge migrate analyze
  drawbridge migrate rehearse
  drawbridge migrate up --dry-run
  drawbridge migrate up --backup --message "Upgrading the database" --retry 300
`

const UP_OPTIONS: OptionSpec = {
  'dry-run': 'boolean',
  step: 'string',
  maintenance: 'string',
  pause: 'boolean',
  message: 'string',
  retry: 'string',
  backup: 'boolean',
  'allow-dangerous': 'boolean',
  'on-failure': 'string',
  'lock-timeout': 'string',
  'lock-retries': 'string',
  'statement-timeout': 'string',
  'require-rehearsal': 'boolean'
}

function wholeNumber (parsed: ParsedArgs, option: string, min: number): number | undefined {
  const value = stringOption(parsed, option)
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`--${option}: "${value}" must be a whole number${min > 0 ? ` of at least ${min}` : ''}`)
  return Number(value)
}

function oneOf<T extends string> (parsed: ParsedArgs, option: string, choices: readonly T[]): T | undefined {
  const value = stringOption(parsed, option)
  if (value === undefined) return undefined
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${option}: "${value}" must be one of ${choices.join(', ')}`)
  return value as T
}

/** The body of POST /v1/migrations/runs; options left out take the server's defaults. */
export function buildRunBody (parsed: ParsedArgs): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  if (parsed.options['dry-run'] === true) body.dryRun = true
  const step = wholeNumber(parsed, 'step', 1)
  if (step !== undefined) body.step = step
  const maintenance = oneOf(parsed, 'maintenance', ['auto', 'always', 'never'] as const)
  if (maintenance !== undefined) body.maintenance = maintenance
  if (parsed.options.pause === true) body.pause = true
  const message = stringOption(parsed, 'message')
  if (message !== undefined) body.message = message
  const retry = wholeNumber(parsed, 'retry', 0)
  if (retry !== undefined) body.retryAfter = retry
  if (parsed.options.backup === true) body.backup = true
  if (parsed.options['allow-dangerous'] === true) body.allowDangerous = true
  const onFailure = oneOf(parsed, 'on-failure', ['keep', 'restore'] as const)
  if (onFailure !== undefined) body.onFailure = onFailure
  const lockTimeout = wholeNumber(parsed, 'lock-timeout', 0)
  if (lockTimeout !== undefined) body.lockTimeoutMs = lockTimeout
  const lockRetries = wholeNumber(parsed, 'lock-retries', 0)
  if (lockRetries !== undefined) body.lockRetries = lockRetries
  const statementTimeout = wholeNumber(parsed, 'statement-timeout', 0)
  if (statementTimeout !== undefined) body.statementTimeoutMs = statementTimeout
  if (parsed.options['require-rehearsal'] === true) body.requireRehearsal = true
  return body
}

export function describeStatus (s: MigrationStatusReport): string {
  const lines: string[] = [`Migrations in ${s.migrationsDir}${s.locked ? ' (a run holds the lock right now)' : ''}`]
  lines.push(`Applied: ${s.applied.length}`)
  if (s.applied.length > 0) {
    lines.push(table(s.applied.map((a) => [a.name, `${a.appliedAt} by ${a.appliedBy} (${a.durationMs} ms)${a.drifted ? '  DRIFTED' : ''}`])))
  }
  lines.push(`Pending: ${s.pending.length}`)
  if (s.pending.length > 0) {
    lines.push(table(s.pending.map((p) => {
      const tags = [p.maintenance ? 'maintenance' : '', p.noTransaction ? 'no-transaction' : '', ...p.activates.map((k) => `activates ${k}`)].filter((x) => x !== '')
      return [p.name, tags.length === 0 ? '' : `[${tags.join('] [')}]`]
    })))
  }
  if (s.drifted.length > 0) {
    lines.push(`Drifted: ${s.drifted.length} (runs are blocked until these files are restored as applied)`)
    lines.push(table(s.drifted.map((d) => [d.name, `applied ${d.appliedChecksum.slice(0, 12)}…, now ${d.currentChecksum.slice(0, 12)}…`])))
  }
  if (s.missing.length > 0) lines.push(`Applied but no longer on disk: ${s.missing.join(', ')}`)
  lines.push(`Last run: ${s.lastRun === null ? 'none' : `${s.lastRun.id} ${s.lastRun.status}${s.lastRun.dryRun ? ' (dry run)' : ''} by ${s.lastRun.actor} at ${s.lastRun.createdAt}`}`)
  if (s.backup === null) {
    lines.push('Backup to restore from: none (migrate up --backup takes one)')
  } else {
    lines.push(`Backup to restore from: ${s.backup.file} (${formatBytes(s.backup.sizeBytes)}, ${s.backup.createdAt}, run ${s.backup.runId})${s.backup.exists ? '' : ' — FILE MISSING on the gateway host'}`)
    lines.push(`  restore with: ${s.backup.restore}`)
  }
  return lines.join('\n')
}

export function describeFindings (findings: Finding[]): string {
  if (findings.length === 0) return 'No findings for the pending migrations.'
  const out: string[] = []
  for (const f of findings) {
    out.push(`${f.migration}:${f.line}  ${f.severity.toUpperCase()}  ${f.rule}`)
    out.push(...f.statement.split('\n').slice(0, 4).map((l) => `    ${l}`))
    out.push(`  ${f.message}`)
    out.push(`  fix: ${f.fix}`)
    out.push('')
  }
  const count = (s: string): number => findings.filter((f) => f.severity === s).length
  out.push(`${findings.length} finding(s): ${count('high')} high, ${count('medium')} medium, ${count('low')} low`)
  return out.join('\n')
}

function stepLine (step: RunStep): string {
  const mark = { pending: ' ', running: '…', succeeded: '✓', failed: '✗', skipped: '-', 'rolled-back': '↺', interrupted: '!' }[step.status]
  const duration = step.durationMs === null ? '' : ` ${step.durationMs} ms`
  const attempts = step.attempts > 1 ? ` (${step.attempts} attempts)` : ''
  return `  ${mark} ${step.kind.padEnd(11)} ${step.name.padEnd(28)} ${step.status}${duration}${attempts}${step.detail !== null && (step.status === 'failed' || step.status === 'skipped' || step.status === 'interrupted') ? `: ${step.detail}` : ''}`
}

export function describeRun (run: RunRecord): string {
  const lines = [`Run ${run.id}: ${run.status.toUpperCase()}${run.options.dryRun ? ' (dry run)' : ''}${run.durationMs === null ? '' : ` in ${run.durationMs} ms`}`]
  lines.push(...run.steps.map(stepLine))
  if (run.backup !== null) lines.push(`Backup: ${run.backup.file} (${formatBytes(run.backup.sizeBytes)})`)
  if (run.error !== null) lines.push(`Error: ${run.error.message} (${run.error.code})`)
  return lines.join('\n')
}

async function up (parsed: ParsedArgs, json: boolean): Promise<number> {
  const body = buildRunBody(parsed)
  const final = await startAndFollow<RunRecord>(parsed, json, {
    collection: '/v1/migrations/runs',
    body,
    started: (id) => `Run ${id} started${body.dryRun === true ? ' (dry run)' : ''}`,
    isDone: (status) => ['succeeded', 'failed', 'interrupted'].includes(status)
  })
  if (typeof final === 'number') return final
  const run = final
  if (json) printJson(run)
  else {
    printLine()
    printLine(describeRun(run))
  }
  return run.status === 'succeeded' ? 0 : 1
}

export async function run (args: string[]): Promise<number> {
  const [action, ...rest] = args
  if (action === undefined || action === '--help' || action === '-h' || action === 'help') {
    process.stdout.write(MIGRATE_HELP)
    return action === undefined ? 2 : 0
  }
  if (action !== 'status' && action !== 'analyze' && action !== 'up' && action !== 'rehearse') {
    throw new UsageError(`migrate: unknown action "${action}" (expected status, analyze, rehearse or up)`, 'drawbridge migrate --help')
  }
  const parsed = parseArgs(rest, action === 'up' ? UP_OPTIONS : action === 'rehearse' ? REHEARSE_OPTIONS : {})
  if (parsed.options.help === true) {
    process.stdout.write(MIGRATE_HELP)
    return 0
  }
  if (parsed.positionals.length > 0) throw new UsageError(`migrate ${action}: unexpected argument "${parsed.positionals[0] ?? ''}"`)
  const json = parsed.options.json === true
  if (action === 'up') return await up(parsed, json)
  if (action === 'rehearse') return await rehearse(parsed, json)

  const client = createAdminClient({ url: stringOption(parsed, 'admin-url'), token: stringOption(parsed, 'admin-token') })
  if (action === 'status') {
    const res = await client.request<MigrationStatusReport>('GET', '/v1/migrations')
    if (res.status !== 200) return reportApiError(res.status, res.body, json)
    if (json) printJson(res.body)
    else printLine(describeStatus(res.body))
    return 0
  }
  const res = await client.request<{ findings: Finding[] }>('POST', '/v1/migrations/analyze', {})
  if (res.status !== 200) return reportApiError(res.status, res.body, json)
  if (json) printJson(res.body)
  else printLine(describeFindings(res.body.findings))
  return res.body.findings.some((f) => f.severity === 'high') ? 1 : 0
}
