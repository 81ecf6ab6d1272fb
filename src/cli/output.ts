import { maskCredentials } from '../input/mask-credentials.js'

/**
 * Everything the CLI prints goes through here: human text or `--json` on
 * stdout, one-line errors on stderr. Exit codes: 0 ok, 1 the operation failed
 * (API error, admin unreachable), 2 the command line or config is wrong.
 */

/** A wrong command line: printed as one line, exit code 2. */
export class UsageError extends Error {
  constructor (message: string, readonly hint?: string) {
    super(message)
    this.name = 'UsageError'
  }
}

/** The operation failed for a reason the user can act on; printed as one line, exit code 1. */
export class CliFailure extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CliFailure'
  }
}

export function printLine (text = ''): void {
  process.stdout.write(text + '\n')
}

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

export function printError (text: string): void {
  process.stderr.write(`drawbridge: ${maskCredentials(text)}\n`)
}

/** `  key        value` rows with the values aligned. */
export function table (rows: Array<[string, string]>, indent = '  '): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length))
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`).join('\n')
}

/** A table with a header row: each column as wide as its widest cell, two spaces apart. */
export function columns (header: string[], rows: string[][], indent = '  '): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => (indent + cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)).join('  ')).trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}

/** `in 29 min`, `3 h ago`: enough precision to read a window at a glance. */
export function relativeTime (at: number, now = Date.now()): string {
  const delta = at - now
  const abs = Math.abs(delta)
  const units: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1000, 's']]
  let text = 'now'
  for (const [size, unit] of units) {
    if (abs >= size) {
      text = `${Math.floor(abs / size)} ${unit}`
      break
    }
  }
  if (text === 'now') return text
  return delta > 0 ? `in ${text}` : `${text} ago`
}

interface ApiErrorBody { statusCode?: number, message?: string, code?: string }

/**
 * An admin API error: the server's message and code on stderr (and the body on
 * stdout with --json, so scripts can parse it); exit code 1. `hint`, when
 * given, ends the same line: what the user can do about it.
 */
export function reportApiError (status: number, body: unknown, json: boolean, hint?: string): number {
  const err = (body !== null && typeof body === 'object' ? body : {}) as ApiErrorBody
  const message = typeof err.message === 'string' ? err.message : typeof body === 'string' && body !== '' ? body : 'request failed'
  const code = typeof err.code === 'string' ? err.code : 'no code'
  if (json) printJson(body)
  printError(`${message} (HTTP ${status}, ${code})${hint === undefined ? '' : `; ${hint}`}`)
  return 1
}
