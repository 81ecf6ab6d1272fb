import type { CompiledFlag, CompiledFlags, Evaluation } from './compile.js'
import type { Flag } from '../state/types.js'

/**
 * Which values each flag has served, and when last. The request path only
 * writes a timestamp into a slot of the compiled flag (`markServed`); this
 * module folds those slots into `flag → served value → last seen` now and
 * then (a flush, a state change), so counting costs nothing per request and
 * never touches the shared state, whose version must not move per evaluation.
 *
 * Served values are labelled `off`, `on` or `variant:<name>`.
 */

export const MS_PER_DAY = 86_400_000

/** Request path: remember that this outcome was served at `now`. */
export function markServed (cf: CompiledFlag, ev: Evaluation, now: number): void {
  if (ev.slot >= 0) cf.seen[ev.slot] = now
}

function labelOf (cf: CompiledFlag, slot: number): string | null {
  if (slot === 0) return 'off'
  if (slot === 1) return 'on'
  const v = cf.variants[slot - 2]
  return v === undefined ? null : `variant:${v.name}`
}

/** flag key → served value label → last served (epoch ms). */
export type UsageMap = Map<string, Map<string, number>>

/** Field name in a persisted map: flag keys and variant names never contain a tab. */
export function usageField (key: string, label: string): string {
  return `${key}\t${label}`
}

export function parseUsageField (field: string): [string, string] | null {
  const tab = field.indexOf('\t')
  return tab <= 0 ? null : [field.slice(0, tab), field.slice(tab + 1)]
}

export class FlagUsage {
  private readonly usage: UsageMap = new Map()
  /** Entries newer than what was last persisted. */
  private dirty = new Map<string, number>()

  /** Folds (and clears) the slots of a compiled table. */
  harvest (table: CompiledFlags): void {
    for (const cf of table.list) {
      const seen = cf.seen
      for (let slot = 0; slot < seen.length; slot++) {
        const at = seen[slot] as number
        if (at === 0) continue
        seen[slot] = 0
        const label = labelOf(cf, slot)
        if (label !== null) this.note(cf.key, label, at)
      }
    }
  }

  /** Records one served value; keeps the newest time. */
  note (key: string, label: string, at: number): void {
    let labels = this.usage.get(key)
    if (labels === undefined) {
      labels = new Map()
      this.usage.set(key, labels)
    }
    if ((labels.get(label) ?? 0) >= at) return
    labels.set(label, at)
    this.dirty.set(usageField(key, label), at)
  }

  /** Merges persisted entries (from other replicas or earlier runs) without marking them dirty. */
  mergePersisted (fields: Record<string, number>): void {
    for (const [field, at] of Object.entries(fields)) {
      const parsed = parseUsageField(field)
      if (parsed === null || !Number.isFinite(at)) continue
      const [key, label] = parsed
      let labels = this.usage.get(key)
      if (labels === undefined) {
        labels = new Map()
        this.usage.set(key, labels)
      }
      if ((labels.get(label) ?? 0) < at) labels.set(label, at)
    }
  }

  /** What to persist since the last call; put back with `restoreDirty` if persisting fails. */
  takeDirty (): Map<string, number> {
    const out = this.dirty
    this.dirty = new Map()
    return out
  }

  restoreDirty (entries: Map<string, number>): void {
    for (const [field, at] of entries) if ((this.dirty.get(field) ?? 0) < at) this.dirty.set(field, at)
  }

  labels (key: string): ReadonlyMap<string, number> | undefined {
    return this.usage.get(key)
  }

  lastEvaluatedAt (key: string): number | null {
    const labels = this.usage.get(key)
    if (labels === undefined) return null
    let last = 0
    for (const at of labels.values()) if (at > last) last = at
    return last === 0 ? null : last
  }
}

export interface Staleness {
  /** `single-value`: served one value only; `unused`: not evaluated at all in the window. */
  reason: 'single-value' | 'unused'
  servedValue: string | null
  days: number
}

/**
 * A flag is stale when it has not been changed for `days` days and, over those
 * days, served one value only (or was not evaluated at all): a candidate for
 * removal from the code and from Drawbridge.
 */
export function staleness (flag: Flag, labels: ReadonlyMap<string, number> | undefined, now: number, days: number): Staleness | null {
  const windowStart = now - days * MS_PER_DAY
  const updated = Date.parse(flag.updatedAt)
  if (!Number.isFinite(updated) || updated > windowStart) return null
  const served: string[] = []
  for (const [label, at] of labels ?? []) if (at >= windowStart) served.push(label)
  if (served.length > 1) return null
  if (served.length === 0) return { reason: 'unused', servedValue: null, days }
  return { reason: 'single-value', servedValue: served[0] as string, days }
}
