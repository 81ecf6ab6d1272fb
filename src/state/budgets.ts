import { CONFIG_SCHEMA } from '../config/config-shape.generated.js'
import { errors } from '../errors.js'
import type { SharedState } from './types.js'

/**
 * Size budgets of the shared state, in bytes of its JSON. They keep one
 * operator's (or one script's) mistake from growing the document until every
 * write takes seconds of the event loop the gateway shares, the state file
 * cannot be serialised, or Redis drops its subscribers.
 */
export interface StoreBudgets {
  /** The whole state document. */
  stateMaxBytes: number
  /** One flag (its rules, variants, gate...), overrides not included. */
  flagMaxBytes: number
  /** Audit entries kept, newest first. */
  auditMaxEntries: number
  /** Bytes of audit entries kept; the oldest go first. */
  auditMaxBytes: number
}

/**
 * The settings' defaults (config/schema.ts says why each is one an operator
 * does not hit by accident), for stores built without a config.
 */
const settings = CONFIG_SCHEMA.properties
export const DEFAULT_BUDGETS: StoreBudgets = {
  stateMaxBytes: settings.stateMaxBytes.default as number,
  flagMaxBytes: settings.flagMaxBytes.default as number,
  auditMaxEntries: settings.auditMaxEntries.default as number,
  auditMaxBytes: settings.auditMaxBytes.default as number
}

/** 512 B, 4.0 KiB, 16.0 MiB: sizes in messages people read. */
export function formatBytes (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

export function jsonBytes (value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '')
}

function tooLarge (what: string, bytes: number, setting: keyof StoreBudgets, limit: number): Error {
  return new errors.DRAWBRIDGE_ERR_TOO_LARGE(`${what} would be ${formatBytes(bytes)}, over the ${setting} budget of ${formatBytes(limit)} (${limit} bytes); make it smaller or raise ${setting}`)
}

/**
 * Refuses (413, naming the budget) a write whose state is over a budget. Only
 * what grows is refused: a flag this write did not touch, or a state that
 * shrinks, passes even when over a lowered budget, so operators can always
 * clean up. `json` is the committed document's JSON when the caller has it.
 */
export function checkBudgets (current: SharedState, next: SharedState, budgets: StoreBudgets, json?: string): void {
  for (const key of Object.keys(next.flags)) {
    const flag = next.flags[key]
    const before = Object.hasOwn(current.flags, key) ? current.flags[key] : undefined
    if (flag === undefined || (before !== undefined && before.updatedAt === flag.updatedAt)) continue
    const bytes = jsonBytes(flag)
    if (bytes > budgets.flagMaxBytes && (before === undefined || bytes > jsonBytes(before))) {
      throw tooLarge(`flag ${key}`, bytes, 'flagMaxBytes', budgets.flagMaxBytes)
    }
  }
  const bytes = json === undefined ? jsonBytes(next) : Buffer.byteLength(json)
  if (bytes > budgets.stateMaxBytes && bytes > jsonBytes(current)) {
    throw tooLarge('the state', bytes, 'stateMaxBytes', budgets.stateMaxBytes)
  }
}

/**
 * How many of the newest audit entries, of these sizes in bytes (newest
 * first), fit both audit budgets. The newest entry is always kept (each entry
 * is bounded on its own, see audit-diff.ts).
 */
export function auditEntriesKept (sizes: readonly number[], budgets: StoreBudgets): number {
  let total = 0
  let kept = 0
  for (const size of sizes) {
    if (kept >= budgets.auditMaxEntries) break
    total += size
    if (kept > 0 && total > budgets.auditMaxBytes) break
    kept++
  }
  return kept
}
