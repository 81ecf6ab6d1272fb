import { errors } from '../errors.js'
import { getOwn } from '../state/dict.js'
import type { Flag } from '../state/types.js'

/**
 * Prerequisites across flags: what a write may not do (name a flag or variant
 * that does not exist, or close a cycle), and what compiling must survive
 * anyway (a cycle in a state another version wrote), since evaluation follows
 * prerequisites recursively.
 */

function invalid (message: string): Error {
  return new errors.DRAWBRIDGE_ERR_INVALID(message)
}

function prerequisiteKeys (flag: Flag | undefined): string[] {
  return (flag?.prerequisites ?? []).map((p) => p.flag)
}

/** The first cycle through `start`, as keys (`a → b → a`), or null. */
function cycleFrom (start: string, next: (key: string) => string[]): string[] | null {
  const path: string[] = []
  const done = new Set<string>()
  const visit = (key: string): string[] | null => {
    if (key === start && path.length > 0) return [...path, key]
    if (done.has(key) || path.includes(key)) return null
    path.push(key)
    for (const k of next(key)) {
      const found = visit(k)
      if (found !== null) return found
    }
    path.pop()
    done.add(key)
    return null
  }
  return visit(start)
}

/** Checks `flag`'s prerequisites against the other flags of the state it is written into. */
export function checkPrerequisites (flags: Record<string, Flag>, flag: Flag): void {
  const list = flag.prerequisites ?? []
  const seen = new Set<string>()
  list.forEach((p, i) => {
    const at = `body/prerequisites/${i}`
    if (p.flag === flag.key) throw invalid(`${at}/flag: a flag cannot be its own prerequisite`)
    if (seen.has(p.flag)) throw invalid(`${at}/flag "${p.flag}" is listed twice`)
    seen.add(p.flag)
    const other = getOwn(flags, p.flag)
    if (other === undefined) throw invalid(`${at}/flag "${p.flag}" is not a flag`)
    if (p.variant !== undefined && !(other.variants ?? []).some((v) => v.name === p.variant)) {
      throw invalid(`${at}/variant "${p.variant}" is not one of the variants of flag ${p.flag}`)
    }
  })
  const cycle = cycleFrom(flag.key, (key) => key === flag.key ? list.map((p) => p.flag) : prerequisiteKeys(getOwn(flags, key)))
  if (cycle !== null) throw invalid(`body/prerequisites would make a cycle: ${cycle.join(' → ')}`)
}

/** Flags that name `key` as a prerequisite, in key order. */
export function dependentsOf (flags: Record<string, Flag>, key: string): string[] {
  return Object.keys(flags).filter((k) => prerequisiteKeys(getOwn(flags, k)).includes(key)).sort()
}

/**
 * A flag whose variants a prerequisite relies on may not drop those variants:
 * the prerequisite would silently never hold.
 */
export function checkDependents (flags: Record<string, Flag>, flag: Flag): void {
  const names = new Set((flag.variants ?? []).map((v) => v.name))
  for (const dependent of dependentsOf(flags, flag.key)) {
    const p = (getOwn(flags, dependent)?.prerequisites ?? []).find((q) => q.flag === flag.key)
    if (p?.variant !== undefined && !names.has(p.variant)) {
      throw invalid(`body/variants: flag ${dependent} requires variant "${p.variant}" of ${flag.key}; change its prerequisites first`)
    }
  }
}

/** Keys of flags on a prerequisite cycle or depending on one: they can never be evaluated, so they are off. */
export function unresolvable (flags: ReadonlyMap<string, Flag>): Set<string> {
  const bad = new Set<string>()
  const state = new Map<string, 'visiting' | 'ok' | 'bad'>()
  const visit = (key: string): boolean => {
    const known = state.get(key)
    if (known === 'visiting') return false
    if (known !== undefined) return known === 'ok'
    state.set(key, 'visiting')
    let ok = true
    for (const k of prerequisiteKeys(flags.get(key))) if (flags.has(k) && !visit(k)) ok = false
    state.set(key, ok ? 'ok' : 'bad')
    if (!ok) bad.add(key)
    return ok
  }
  for (const key of flags.keys()) visit(key)
  return bad
}
