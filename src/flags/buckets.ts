import type { FlagVariant } from '../state/types.js'
import { toText } from './conditions.js'
import { murmur3Pair, ROLLOUT_SEED, VARIANT_SEED } from './murmur3.js'

/**
 * Rollout buckets and variant choices, with Unleash's stickiness: what is
 * hashed (`"<groupId>:<id>"`, murmur3) for a given context, or a random draw
 * when nothing sticky is there. Allocation-free: compiled once, read per
 * evaluation.
 */

/** How the id a bucket hashes is found. */
export const Sticky = {
  /** No stickiness given (the contract's rollout): the targeting key; 0% and 100% need none; without a key, an error. */
  Legacy: 0,
  /** The targeting key (`stickiness: "targetingKey"`). */
  Key: 1,
  /** A context attribute (`sessionId`, a custom field). */
  Attribute: 2,
  /** `default`: the targeting key, else sessionId (else remoteAddress, for variants), else a random draw. */
  Default: 3,
  /** `random`: a draw per evaluation, never sticky. */
  Random: 4
} as const

export type StickyKind = typeof Sticky[keyof typeof Sticky]

export interface Stickiness {
  readonly kind: StickyKind
  /** The attribute read (Sticky.Attribute). */
  readonly attribute: string
}

// Not frozen: a frozen object has a map of its own, and `stickiness.kind` on the hot path would see two.
export const LEGACY: Stickiness = { kind: Sticky.Legacy, attribute: '' }

export function compileStickiness (text: string | null | undefined): Stickiness {
  if (text === undefined || text === null) return LEGACY
  if (text === 'default') return { kind: Sticky.Default, attribute: '' }
  if (text === 'random') return { kind: Sticky.Random, attribute: '' }
  if (text === 'targetingKey') return { kind: Sticky.Key, attribute: '' }
  return { kind: Sticky.Attribute, attribute: text }
}

/** The attributes a stickiness reads (for the gateway's per-request check). */
export function stickinessReads (s: Stickiness): string[] {
  if (s.kind === Sticky.Attribute) return [s.attribute]
  return s.kind === Sticky.Default ? ['sessionId', 'remoteAddress'] : []
}

let draws = 0

/** How many random draws evaluation has made in this process: a caller that compares it before and after knows whether an answer is sticky. */
export function randomDraws (): number {
  return draws
}

/** 1..n, uniformly. */
function draw (n: number): number {
  draws++
  return Math.floor(Math.random() * n) + 1
}

function attributeText (attributes: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const s = Object.hasOwn(attributes, name) ? toText(attributes[name]) : undefined
  return s === '' ? undefined : s
}

/** The id to hash: a string, null for "draw instead", or undefined when the context has none. */
function stickyId (s: Stickiness, key: string | undefined, attributes: Readonly<Record<string, unknown>>, forVariants: boolean): string | null | undefined {
  switch (s.kind) {
    case Sticky.Legacy:
    case Sticky.Key:
      return key
    case Sticky.Attribute:
      return attributeText(attributes, s.attribute)
    case Sticky.Default:
      // Unleash: userId, sessionId, then (choosing variants only) remoteAddress, then random.
      return key ?? attributeText(attributes, 'sessionId') ?? (forVariants ? attributeText(attributes, 'remoteAddress') : undefined) ?? null
    default:
      return null
  }
}

export interface CompiledRollout {
  readonly percentage: number
  /** `"<groupId>:"`. */
  readonly prefix: string
  readonly stickiness: Stickiness
}

/**
 * Whether a rollout lets this context in: 1 yes, 0 no, -1 it needs a
 * targeting key that is missing (contract stickiness only). Unleash's
 * flexibleRollout: bucket = murmur3("<groupId>:<id>") % 100 + 1 <= percentage.
 */
export function rolloutHolds (r: CompiledRollout, percentage: number, key: string | undefined, attributes: Readonly<Record<string, unknown>>): number {
  if (r.stickiness.kind !== Sticky.Legacy) return stickyRolloutHolds(r, percentage, key, attributes)
  if (percentage <= 0) return 0
  if (percentage >= 100) return 1
  if (key === undefined) return -1
  return (murmur3Pair(r.prefix, key, ROLLOUT_SEED) % 100) + 1 <= percentage ? 1 : 0
}

/** rolloutHolds with a stickiness of Unleash's: the id is needed even at 100% (a random draw always passes 100%). */
function stickyRolloutHolds (r: CompiledRollout, percentage: number, key: string | undefined, attributes: Readonly<Record<string, unknown>>): number {
  if (percentage <= 0) return 0
  const id = stickyId(r.stickiness, key, attributes, false)
  if (id === undefined) return 0
  if (percentage >= 100) return 1
  const bucket = id === null ? draw(100) : (murmur3Pair(r.prefix, id, ROLLOUT_SEED) % 100) + 1
  return bucket <= percentage ? 1 : 0
}

/** A weighted choice among (some of) a flag's variants. */
export interface CompiledPick {
  /** Flag variant index of each entry, in listed order. */
  readonly variants: readonly number[]
  /** Cumulative weights in listed order (zero weights never win: equal to the previous sum). */
  readonly cumulative: readonly number[]
  readonly total: number
  /** Flag variant index when exactly one entry has weight: chosen without hashing. Else -1. */
  readonly only: number
  readonly prefix: string
  readonly stickiness: Stickiness
  /** Variants some users get by attribute, checked in listed order before hashing; null: none. */
  readonly overrides: ReadonlyArray<{ readonly variant: number, readonly attribute: string, readonly values: ReadonlySet<string> }> | null
  /** No overrides and the contract's stickiness: chosen by the targeting key alone. */
  readonly plain: boolean
}

/** A pick over `entries` (flag variant index and weight), with the overrides the flag's variant definitions carry. */
export function compilePick (entries: Array<{ index: number, weight: number }>, defs: readonly FlagVariant[], prefix: string, stickiness: Stickiness): CompiledPick {
  const cumulative: number[] = []
  const overrides: Array<{ variant: number, attribute: string, values: Set<string> }> = []
  let total = 0
  let weighted = 0
  let only = -1
  for (const e of entries) {
    const w = e.weight > 0 ? e.weight : 0
    total += w
    cumulative.push(total)
    if (w > 0) { weighted++; only = e.index }
    for (const o of defs[e.index]?.overrides ?? []) overrides.push({ variant: e.index, attribute: o.attribute, values: new Set(o.in) })
  }
  return { variants: entries.map((e) => e.index), cumulative, total, only: weighted === 1 ? only : -1, prefix, stickiness, overrides: overrides.length === 0 ? null : overrides, plain: overrides.length === 0 && stickiness.kind === Sticky.Legacy }
}

/** The entry whose cumulative weight first reaches `target` (1..total). Zero-weight entries repeat the previous sum, so an earlier one has already matched. */
function entryAt (p: CompiledPick, target: number): number {
  const cumulative = p.cumulative
  for (let i = 0; i < cumulative.length; i++) if ((cumulative[i] as number) >= target) return p.variants[i] as number
  return p.variants[cumulative.length - 1] as number
}

/**
 * Unleash's selectVariantDefinition: no weight, no variant (-1); then the
 * first override that matches; then bucket = hash % total + 1 and the first
 * entry whose cumulative weight reaches it. -2: a targeting key is needed
 * and missing (contract stickiness only). Kept small so the JIT inlines the
 * contract's path (no overrides, the targeting key) into evaluation.
 */
export function pickVariant (p: CompiledPick, key: string | undefined, attributes: Readonly<Record<string, unknown>>): number {
  if (!p.plain) return pickSticky(p, key, attributes)
  if (p.total <= 0) return -1
  if (p.only >= 0) return p.only
  // Variants are sticky per user; without one, the contract's stickiness has no bucket.
  if (key === undefined) return -2
  return entryAt(p, (murmur3Pair(p.prefix, key, VARIANT_SEED) % p.total) + 1)
}

/** pickVariant with overrides or a stickiness of Unleash's. */
function pickSticky (p: CompiledPick, key: string | undefined, attributes: Readonly<Record<string, unknown>>): number {
  if (p.total <= 0) return -1
  const overrides = p.overrides
  if (overrides !== null) {
    for (let i = 0; i < overrides.length; i++) {
      const o = overrides[i] as NonNullable<CompiledPick['overrides']>[number]
      const value = o.attribute === 'targetingKey' ? key : Object.hasOwn(attributes, o.attribute) ? toText(attributes[o.attribute]) : undefined
      if (value !== undefined && o.values.has(value)) return o.variant
    }
  }
  if (p.only >= 0) return p.only
  if (p.stickiness.kind === Sticky.Legacy) return key === undefined ? -2 : entryAt(p, (murmur3Pair(p.prefix, key, VARIANT_SEED) % p.total) + 1)
  // Unleash draws at random when the context has nothing to stick to.
  const id = stickyId(p.stickiness, key, attributes, true) ?? null
  return entryAt(p, id === null ? draw(p.total) : (murmur3Pair(p.prefix, id, VARIANT_SEED) % p.total) + 1)
}
