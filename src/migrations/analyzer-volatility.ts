import type { FuncCall } from 'libpg-query'
import { NON_VOLATILE_BUILTINS } from './analyzer-pg-functions.js'
import { collect, stringsOf } from './analyzer-state.js'

/**
 * Whether a new column's default is volatile. PostgreSQL 11+ stores a
 * non-volatile default once in the catalog (no rewrite); a volatile one is
 * computed per row, which rewrites the table under ACCESS EXCLUSIVE. A
 * function counts as non-volatile only when it is a built-in one known to be
 * IMMUTABLE or STABLE at that argument count: user and extension functions
 * are VOLATILE unless declared otherwise, so an unknown name is volatile.
 */

interface Arity { lo: number, hi: number }

function parseArities (): Map<string, Arity[]> {
  const out = new Map<string, Arity[]>()
  for (const entry of NON_VOLATILE_BUILTINS.split(/\s+/)) {
    const colon = entry.lastIndexOf(':')
    if (colon <= 0) continue
    const specs = entry.slice(colon + 1).split(',').map((s): Arity => {
      if (s.endsWith('+')) return { lo: Number(s.slice(0, -1)), hi: Infinity }
      const [lo, hi] = s.split('-')
      return { lo: Number(lo), hi: Number(hi ?? lo) }
    })
    out.set(entry.slice(0, colon), specs)
  }
  return out
}

let builtins: Map<string, Arity[]> | null = null

function isNonVolatileBuiltin (name: string, argc: number): boolean {
  builtins ??= parseArities()
  return (builtins.get(name) ?? []).some((a) => argc >= a.lo && argc <= a.hi)
}

/** Names of the calls in an expression that are, or may be, volatile. */
export function volatileCalls (expr: unknown): string[] {
  const out: string[] = []
  for (const call of collect<FuncCall>(expr, 'FuncCall')) {
    const names = stringsOf(call.funcname)
    const name = names[names.length - 1]
    if (name === undefined) continue
    const schema = names.length > 1 ? names[names.length - 2] : 'pg_catalog'
    const argc = (call.args ?? []).length
    if (schema !== 'pg_catalog' || !isNonVolatileBuiltin(name, argc)) out.push(names.join('.'))
  }
  return [...new Set(out)]
}
