import { loadModule, parseSync, scanSync, type Node } from 'libpg-query'

/** One statement of a migration file, as PostgreSQL's own parser splits it. */
export interface SqlStatement {
  /** Source text, from its first token to the end (no trailing semicolon). */
  text: string
  /** 1-based line of the statement's first token in the file. */
  line: number
  /** The parse tree; null when this statement does not parse. */
  node: Node | null
  /** The parser's message when node is null. */
  error: string | null
  /** 1-based line of the parse error when node is null. */
  errorLine: number | null
}

let ready: Promise<void> | null = null

/** The parser is WASM: load it once before the first (synchronous) split. */
export function loadParser (): Promise<void> {
  ready ??= loadModule()
  return ready
}

interface ParseFailure { message: string, cursor: number | null }

function failureOf (err: unknown): ParseFailure {
  const e = err as { message?: string, sqlDetails?: { message?: string, cursorPosition?: number } }
  return { message: e.sqlDetails?.message ?? e.message ?? String(err), cursor: e.sqlDetails?.cursorPosition ?? null }
}

/**
 * Byte offsets everywhere: libpg_query reports positions in bytes of the UTF-8
 * text, so the file is handled as a Buffer and decoded per statement.
 */
class SourceText {
  readonly bytes: Buffer
  private readonly lineStarts: number[] = [0]

  constructor (sql: string) {
    this.bytes = Buffer.from(sql, 'utf8')
    for (let i = 0; i < this.bytes.length; i++) if (this.bytes[i] === 0x0a) this.lineStarts.push(i + 1)
  }

  lineAt (offset: number): number {
    let lo = 0
    let hi = this.lineStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((this.lineStarts[mid] as number) <= offset) lo = mid
      else hi = mid - 1
    }
    return lo + 1
  }

  slice (start: number, end: number): string { return this.bytes.subarray(start, end).toString('utf8') }

  /** First offset at or after `from` that is not whitespace or a comment. */
  skipTrivia (from: number, to: number): number {
    const b = this.bytes
    let i = from
    while (i < to) {
      const c = b[i] as number
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c) { i++; continue }
      if (c === 0x2d && b[i + 1] === 0x2d) {
        while (i < to && b[i] !== 0x0a) i++
        continue
      }
      if (c === 0x2f && b[i + 1] === 0x2a) {
        // PostgreSQL block comments nest.
        let depth = 0
        while (i < to) {
          if (b[i] === 0x2f && b[i + 1] === 0x2a) { depth++; i += 2 } else if (b[i] === 0x2a && b[i + 1] === 0x2f) {
            depth--
            i += 2
            if (depth === 0) break
          } else i++
        }
        continue
      }
      break
    }
    return i
  }

  /** End offset with trailing whitespace and semicolons removed. */
  trimEnd (start: number, end: number): number {
    let e = end
    while (e > start) {
      const c = this.bytes[e - 1] as number
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x3b) e--
      else break
    }
    return e
  }
}

function statementAt (src: SourceText, start: number, end: number, node: Node | null, failure: ParseFailure | null): SqlStatement | null {
  const s = src.skipTrivia(start, end)
  const e = src.trimEnd(s, end)
  if (e <= s) return null
  let errorLine: number | null = null
  if (failure !== null) errorLine = src.lineAt(failure.cursor === null ? s : Math.min(Math.max(start + failure.cursor, s), e))
  return { text: src.slice(s, e), line: src.lineAt(s), node, error: failure?.message ?? null, errorLine }
}

/**
 * Splits a file into statements with the real parser. When the file does not
 * parse as a whole, it is cut at the scanner's top-level semicolons (the
 * scanner understands strings, dollar quotes and comments) and each piece is
 * parsed alone, so one bad statement neither hides the findings of the others
 * nor crashes anything. Call loadParser() first.
 */
export function splitStatements (sql: string): SqlStatement[] {
  const src = new SourceText(sql)
  try {
    const result = parseSync(sql)
    const out: SqlStatement[] = []
    for (const raw of result.stmts ?? []) {
      const start = raw.stmt_location ?? 0
      const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? src.bytes.length : start + raw.stmt_len
      const stmt = statementAt(src, start, end, raw.stmt ?? null, null)
      if (stmt !== null) out.push(stmt)
    }
    return out
  } catch {
    return splitFallback(src)
  }
}

function splitFallback (src: SourceText): SqlStatement[] {
  const bounds: Array<[number, number]> = []
  try {
    let from = 0
    for (const token of scanSync(src.bytes.toString('utf8')).tokens) {
      if (token.text === ';') {
        bounds.push([from, token.start])
        from = token.end
      }
    }
    bounds.push([from, src.bytes.length])
  } catch {
    // Not even the scanner copes (an unterminated string): one piece, one finding.
    bounds.length = 0
    bounds.push([0, src.bytes.length])
  }
  const out: SqlStatement[] = []
  for (const [start, end] of bounds) {
    const text = src.slice(start, end)
    let stmt: SqlStatement | null
    try {
      const parsed = parseSync(text)
      const raw = parsed.stmts?.[0]
      stmt = statementAt(src, start, end, raw?.stmt ?? null, null)
    } catch (err) {
      stmt = statementAt(src, start, end, null, failureOf(err))
    }
    if (stmt !== null) out.push(stmt)
  }
  return out
}
