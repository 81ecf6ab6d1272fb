/**
 * Directives live in the leading `--` comments of a migration file, before its
 * first statement, so they read like a header and can never be confused with
 * a comment further down that merely mentions one.
 */
export interface Directives {
  /** `-- drawbridge:maintenance`: must run inside a maintenance window. */
  maintenance: boolean
  /** `-- drawbridge:no-transaction`: run statement by statement, autocommit. */
  noTransaction: boolean
  /** `-- drawbridge:activates <flag-key>` (may repeat): enabled after commit. */
  activates: string[]
  /** `drawbridge:` words we do not know, kept so the analyzer can report typos. */
  unknown: Array<{ line: number, text: string }>
}

const DIRECTIVE = /^--\s*drawbridge:([a-z-]*)\s*(.*?)\s*$/i
const FLAG_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/

export function parseDirectives (sql: string): Directives {
  const out: Directives = { maintenance: false, noTransaction: false, activates: [], unknown: [] }
  const lines = sql.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim()
    if (line === '') continue
    if (!line.startsWith('--')) break
    const match = DIRECTIVE.exec(line)
    if (match === null) continue
    const word = (match[1] as string).toLowerCase()
    const arg = match[2] as string
    if (word === 'maintenance' && arg === '') out.maintenance = true
    else if (word === 'no-transaction' && arg === '') out.noTransaction = true
    else if (word === 'activates' && FLAG_KEY.test(arg)) {
      if (!out.activates.includes(arg)) out.activates.push(arg)
    } else out.unknown.push({ line: i + 1, text: line })
  }
  return out
}
