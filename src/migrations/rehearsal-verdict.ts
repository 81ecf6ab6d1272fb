import type { HeldLock } from './lock-observer.js'

/**
 * What a migration's measured locks mean for the application, in one line an
 * operator can paste into a change ticket. Pure: intervals in, text out.
 * PostgreSQL's conflict table decides the words: ACCESS EXCLUSIVE conflicts
 * with every lock, plain SELECTs' too; SHARE and stronger conflict with ROW
 * EXCLUSIVE, which INSERT/UPDATE/DELETE take.
 */

const BLOCKS_READS = new Set(['AccessExclusiveLock'])
const BLOCKS_WRITES = new Set(['ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'])
/** Weaker than SHARE, yet it queues other DDL and VACUUM: worth a word when nothing blocks reads or writes. */
const BLOCKS_DDL = 'ShareUpdateExclusiveLock'

/** Lock modes from the strongest, for ordering a statement's locks. */
export const MODE_STRENGTH = ['AccessExclusiveLock', 'ExclusiveLock', 'ShareRowExclusiveLock', 'ShareLock',
  'ShareUpdateExclusiveLock', 'RowExclusiveLock', 'RowShareLock', 'AccessShareLock']

export function strength (mode: string): number {
  const i = MODE_STRENGTH.indexOf(mode)
  return i < 0 ? MODE_STRENGTH.length : i
}

/** `4.2 s`, `310 ms`, `<1 ms`. */
export function formatDuration (ms: number): string {
  if (ms < 1) return '<1 ms'
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** Length of the union of intervals: two overlapping locks on one table block it once. */
export function coveredMs (intervals: Array<{ from: number, to: number }>): number {
  const sorted = [...intervals].sort((a, b) => a.from - b.from)
  let total = 0
  let end = -Infinity
  for (const { from, to } of sorted) {
    if (to <= end) continue
    total += to - Math.max(from, end)
    end = to
  }
  return total
}

interface TableImpact { relation: string, readsMs: number, writesMs: number, ddlMs: number }

function impacts (locks: HeldLock[]): TableImpact[] {
  const byTable = new Map<string, HeldLock[]>()
  for (const lock of locks) byTable.set(lock.relation, [...(byTable.get(lock.relation) ?? []), lock])
  return [...byTable].map(([relation, held]) => ({
    relation,
    readsMs: coveredMs(held.filter((l) => BLOCKS_READS.has(l.mode))),
    writesMs: coveredMs(held.filter((l) => BLOCKS_WRITES.has(l.mode))),
    ddlMs: coveredMs(held.filter((l) => l.mode === BLOCKS_DDL))
  }))
}

export function verdict (locks: HeldLock[], rewritten: string[]): string {
  const tables = impacts(locks)
  const parts: string[] = []
  for (const t of [...tables].sort((a, b) => b.writesMs - a.writesMs || a.relation.localeCompare(b.relation))) {
    if (t.readsMs > 0) {
      const longer = t.writesMs - t.readsMs >= 1 ? ` (writes for ${formatDuration(t.writesMs)})` : ''
      parts.push(`blocks reads and writes to ${t.relation} for ${formatDuration(t.readsMs)}${longer}`)
    } else if (t.writesMs > 0) {
      parts.push(`blocks writes to ${t.relation} for ${formatDuration(t.writesMs)}`)
    }
  }
  if (parts.length === 0) {
    const ddl = tables.filter((t) => t.ddlMs > 0).map((t) => `${t.relation} for ${formatDuration(t.ddlMs)}`)
    parts.push(ddl.length === 0 ? 'blocks neither reads nor writes' : `blocks neither reads nor writes (holds off other DDL and VACUUM on ${ddl.join(', ')})`)
  }
  if (rewritten.length > 0) parts.push(`rewrote ${rewritten.join(', ')}`)
  return parts.join('; ')
}
