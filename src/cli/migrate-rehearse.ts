import type { RehearsalMigration, RehearsalRecord } from '../migrations/rehearsal-types.js'
import { formatDuration } from '../migrations/rehearsal-verdict.js'
import { stringOption, type OptionSpec, type ParsedArgs } from './args.js'
import { startAndFollow } from './follow-job.js'
import { columns, printJson, printLine, UsageError } from './output.js'

export const REHEARSE_OPTIONS: OptionSpec = {
  source: 'string',
  backup: 'string',
  keep: 'boolean',
  'lock-timeout': 'string',
  'statement-timeout': 'string'
}

/** Body of POST /v1/migrations/rehearsals from the command line. */
export function buildRehearsalBody (parsed: ParsedArgs): Record<string, unknown> {
  const body: Record<string, unknown> = {}
  const backup = stringOption(parsed, 'backup')
  const source = stringOption(parsed, 'source') ?? (backup === undefined ? undefined : 'backup')
  if (source !== undefined && source !== 'live' && source !== 'backup') throw new UsageError(`--source: "${source}" must be live or backup`)
  if (source === 'backup' && backup === undefined) throw new UsageError('--source backup needs --backup FILE (a file name in the backup directory, as `migrate status` shows it)')
  if (source === 'live' && backup !== undefined) throw new UsageError('--backup FILE rehearses on that backup: drop --source live')
  if (source !== undefined) body.source = source
  if (backup !== undefined) body.backup = backup
  if (parsed.options.keep === true) body.keep = true
  for (const [option, field] of [['lock-timeout', 'lockTimeoutMs'], ['statement-timeout', 'statementTimeoutMs']] as const) {
    const value = stringOption(parsed, option)
    if (value === undefined) continue
    if (!/^\d+$/.test(value)) throw new UsageError(`--${option}: "${value}" must be a whole number of milliseconds`)
    body[field] = Number(value)
  }
  return body
}

/** Rows of one migration: a row per statement, one more per extra lock; the verdict on its first row. */
function migrationRows (m: RehearsalMigration): string[][] {
  const rows: string[][] = []
  const name = m.status === 'failed' ? `${m.name} (FAILED)` : m.name
  if (m.statements.length === 0) rows.push([name, '', String(m.ms), '', '', m.verdict])
  m.statements.forEach((s, i) => {
    const locks = s.locks.length === 0 ? ['-'] : s.locks.map((l) => `${l.relation} ${l.mode} ${l.ms} ms`)
    const rewrote = s.error !== undefined ? 'failed' : s.rewrote ? `yes (${s.rewritten.join(', ')})` : 'no'
    locks.forEach((lock, j) => {
      rows.push(j === 0
        ? [i === 0 ? name : '', String(s.line), String(s.ms), rewrote, lock, i === 0 ? m.verdict : '']
        : ['', '', '', '', lock, ''])
    })
  })
  return rows
}

/**
 * The outcome as text an operator can paste into a change ticket: which copy,
 * per statement its duration, rewrite and locks with their hold times, per
 * migration the verdict; then the error, if any.
 */
export function describeRehearsal (r: RehearsalRecord): string {
  const source = r.source === 'backup' ? `the backup ${r.backup ?? ''}` : 'a copy of the live database'
  const fate = r.keep ? 'kept' : r.dropped ? 'dropped' : 'not dropped'
  const took = r.durationMs === null ? '' : ` in ${formatDuration(r.durationMs)}`
  const lines = [`Rehearsal ${r.id}: ${r.status.toUpperCase()}${took} on ${source} (scratch database ${r.database}, ${fate})`]
  if (r.migrations.length === 0) {
    lines.push(r.status === 'succeeded' ? 'Nothing pending: every migration is applied.' : 'No migration was applied.')
  } else {
    lines.push('')
    lines.push(columns(['migration', 'line', 'ms', 'rewrote', 'locks (held for)', 'verdict'], r.migrations.flatMap(migrationRows)))
    const total = r.migrations.reduce((sum, m) => sum + m.ms, 0)
    lines.push('')
    lines.push(`Migrations: ${r.migrations.filter((m) => m.status === 'applied').length} of ${r.pending ?? r.migrations.length} applied, ${formatDuration(total)} in all.`)
  }
  const high = r.findings.filter((f) => f.severity === 'high').length
  if (r.findings.length > 0) lines.push(`Analyzer: ${r.findings.length} finding(s), ${high} high (drawbridge migrate analyze).`)
  lines.push(`Locks sampled every ${r.lockPollMs} ms from a second connection, and right after each statement: in a no-transaction file a lock held for less than that can go unseen.`)
  if (r.error !== null) lines.push(`Error: ${r.error.message} (${r.error.code})`)
  return lines.join('\n')
}

/** `drawbridge migrate rehearse`: starts a rehearsal, shows its progress, prints the table; exit 1 when it failed. */
export async function rehearse (parsed: ParsedArgs, json: boolean): Promise<number> {
  const record = await startAndFollow<RehearsalRecord>(parsed, json, {
    collection: '/v1/migrations/rehearsals',
    body: buildRehearsalBody(parsed),
    started: (id) => `Rehearsal ${id} started`,
    isDone: (status) => status === 'succeeded' || status === 'failed'
  })
  if (typeof record === 'number') return record
  if (json) printJson(record)
  else {
    printLine()
    printLine(describeRehearsal(record))
  }
  return record.status === 'succeeded' ? 0 : 1
}
