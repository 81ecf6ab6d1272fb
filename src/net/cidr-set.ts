/**
 * IPv4/IPv6 allowlists compiled once per state change into sorted, disjoint
 * ranges, so a lookup is a parse plus a binary search: 10,000 CIDRs cost a few
 * more comparisons than one, never a scan.
 *
 * IPv4 addresses are uint32 numbers. IPv6 addresses are four uint32 words in a
 * typed array (BigInt only at compile time): comparing four small integers is
 * several times cheaper than BigInt arithmetic on the request path. An
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is looked up as the IPv4 address,
 * and any IPv6 range covering part of `::ffff:0:0/96` also lands in the IPv4
 * table, so both spellings of one client agree.
 */

import { CidrError, MAPPED_END, MAPPED_START, groups, groupsAreMapped, parseCidr, parseV4, parseV6, words, type ParsedCidr } from './ip-parse.js'
export { CidrError, isValidCidr, isValidIp, parseCidr, unmapIp, type ParsedCidr } from './ip-parse.js'

interface Range<T> { start: T, end: T }

function merge<T extends number | bigint> (ranges: Array<Range<T>>, successor: (v: T) => T): Array<Range<T>> {
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
  const out: Array<Range<T>> = []
  for (const r of ranges) {
    const last = out[out.length - 1]
    // Adjacent ranges merge too: fewer ranges, shorter search.
    if (last !== undefined && r.start <= successor(last.end)) {
      if (r.end > last.end) last.end = r.end
    } else {
      out.push({ start: r.start, end: r.end })
    }
  }
  return out
}

/** Index of the last start <= value within [lo, hi], or -1. */
function lastStartAtOrBelow (starts: Float64Array, value: number, lo: number, hi: number): number {
  let found = -1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    if ((starts[mid] as number) <= value) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  return found
}

/** Below this many IPv4 ranges a plain binary search is as fast as the bucket index. */
const BUCKET_MIN_RANGES = 16

/**
 * Bucket index over 16 key bits of each range start (sorted ascending):
 * entry b counts the ranges whose key is below b. For an address with key b
 * the last range starting at or below it lies in [count(b) - 1, count(b+1) - 1],
 * a span almost always one or two ranges long: a lookup reads two numbers and
 * 10,000 ranges cost what one does. 256 KiB, built only for larger sets.
 */
function buildBuckets (keys: Int32Array): Int32Array {
  const counts = new Int32Array(65537)
  let below = 0
  for (let b = 0; b <= 65536; b++) {
    while (below < keys.length && (keys[below] as number) < b) below++
    counts[b] = below
  }
  return counts
}

/** Search span [lo, hi] for key b (see buildBuckets). */
function spanLo (counts: Int32Array, b: number): number {
  const c = counts[b] as number
  return c > 0 ? c - 1 : 0
}

/** The 16 bits of a 128-bit address (four words) starting at bit `offset` (0 = most significant), offset <= 112. */
function bits16 (w: Uint32Array, at: number, offset: number): number {
  const k = offset >>> 5
  const shift = offset & 31
  const hi = w[at + k] as number
  if (shift <= 16) return (hi >>> (16 - shift)) & 0xffff
  return ((hi << (shift - 16)) | ((w[at + k + 1] as number) >>> (48 - shift))) & 0xffff
}

function bitLength (v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length
}

/** a <=> b over four uint32 words at offsets. */
function cmp4 (table: Uint32Array, at: number, w: Uint32Array): number {
  for (let k = 0; k < 4; k++) {
    const x = table[at + k] as number
    const y = w[k] as number
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

export interface CidrSetOptions {
  /** Called for each invalid entry instead of throwing (state loaded from a store is best effort). */
  onInvalid?: (entry: string, error: CidrError) => void
}

export class CidrSet {
  private readonly v4Start: Float64Array
  private readonly v4End: Float64Array
  private readonly v4Buckets: Int32Array | null
  private readonly v6Start: Uint32Array
  private readonly v6End: Uint32Array
  private readonly v6Count: number
  private readonly v6Buckets: Int32Array | null
  /** Bits all IPv6 ranges share; the bucket key is the 16 bits after them. */
  private readonly v6KeyOffset: number
  /** Number of source entries accepted. */
  readonly entries: number

  private constructor (v4: Array<Range<number>>, v6: Array<Range<bigint>>, entries: number) {
    // Float64Array holds every uint32 exactly and compares without >>> 0 fixes.
    this.v4Start = Float64Array.from(v4, (r) => r.start)
    this.v4End = Float64Array.from(v4, (r) => r.end)
    this.v4Buckets = v4.length >= BUCKET_MIN_RANGES
      ? buildBuckets(Int32Array.from(v4, (r) => Math.floor(r.start / 65536)))
      : null
    this.v6Count = v6.length
    this.v6Start = new Uint32Array(v6.length * 4)
    this.v6End = new Uint32Array(v6.length * 4)
    v6.forEach((r, i) => {
      for (let k = 0; k < 4; k++) {
        const shift = BigInt(96 - 32 * k)
        this.v6Start[i * 4 + k] = Number((r.start >> shift) & 0xffffffffn)
        this.v6End[i * 4 + k] = Number((r.end >> shift) & 0xffffffffn)
      }
    })
    this.entries = entries
    const first = v6[0]
    const last = v6[v6.length - 1]
    if (first !== undefined && last !== undefined && v6.length >= BUCKET_MIN_RANGES) {
      // Every address between the first start and the last end shares their common prefix.
      this.v6KeyOffset = Math.min(112, 128 - bitLength(first.start ^ last.end))
      const keys = new Int32Array(v6.length)
      for (let i = 0; i < v6.length; i++) keys[i] = bits16(this.v6Start, i * 4, this.v6KeyOffset)
      this.v6Buckets = buildBuckets(keys)
    } else {
      this.v6KeyOffset = 0
      this.v6Buckets = null
    }
  }

  static readonly EMPTY = new CidrSet([], [], 0)

  /** Compiles a list of CIDRs / bare addresses; throws CidrError on the first bad one unless `onInvalid` is given. */
  static compile (list: readonly string[], options: CidrSetOptions = {}): CidrSet {
    if (list.length === 0) return CidrSet.EMPTY
    const v4: Array<Range<number>> = []
    const v6: Array<Range<bigint>> = []
    let entries = 0
    for (const entry of list) {
      let parsed: ParsedCidr
      try {
        parsed = parseCidr(entry)
      } catch (err) {
        if (options.onInvalid !== undefined && err instanceof CidrError) { options.onInvalid(entry, err); continue }
        throw err
      }
      entries++
      if (parsed.family === 4) {
        v4.push({ start: parsed.start, end: parsed.end })
        continue
      }
      v6.push({ start: parsed.start, end: parsed.end })
      if (parsed.start <= MAPPED_END && parsed.end >= MAPPED_START) {
        const s = parsed.start > MAPPED_START ? parsed.start : MAPPED_START
        const e = parsed.end < MAPPED_END ? parsed.end : MAPPED_END
        v4.push({ start: Number(s - MAPPED_START), end: Number(e - MAPPED_START) })
      }
    }
    return new CidrSet(merge(v4, (v) => v + 1), merge(v6, (v) => v + 1n), entries)
  }

  /** Disjoint ranges after merging (IPv4 + IPv6). */
  get ranges (): number { return this.v4Start.length + this.v6Count }
  get isEmpty (): boolean { return this.ranges === 0 }

  /** Whether `ip` (IPv4, IPv6, IPv4-mapped IPv6, optional %zone) is inside the set. Invalid text → false. */
  has (ip: string): boolean {
    const len = ip.length
    if (ip.indexOf(':') < 0) return this.hasV4(parseV4(ip, 0, len))
    // Dual-stack listeners report IPv4 peers as ::ffff:a.b.c.d: skip the IPv6 parser.
    if (len > 7 && ip.charCodeAt(0) === 58 && ip.startsWith('::ffff:') && ip.indexOf('.', 7) > 0) {
      return this.hasV4(parseV4(ip, 7, len))
    }
    if (this.isEmpty) return false
    let end = ip.indexOf('%')
    if (end < 0) end = len
    if (!parseV6(ip, 0, end)) return false
    if (groupsAreMapped()) return this.hasV4((groups[6] as number) * 65536 + (groups[7] as number))
    if (this.v6Count === 0) return false
    for (let k = 0; k < 4; k++) words[k] = (groups[2 * k] as number) * 65536 + (groups[2 * k + 1] as number)
    let lo = 0
    let hi = this.v6Count - 1
    const buckets = this.v6Buckets
    if (buckets !== null) {
      if (cmp4(this.v6Start, 0, words) > 0 || cmp4(this.v6End, hi * 4, words) < 0) return false
      const b = bits16(words, 0, this.v6KeyOffset)
      lo = spanLo(buckets, b)
      hi = (buckets[b + 1] as number) - 1
    }
    let found = -1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      if (cmp4(this.v6Start, mid * 4, words) <= 0) { found = mid; lo = mid + 1 } else hi = mid - 1
    }
    return found >= 0 && cmp4(this.v6End, found * 4, words) >= 0
  }

  private hasV4 (value: number): boolean {
    if (value < 0) return false
    const buckets = this.v4Buckets
    let i: number
    if (buckets === null) {
      i = lastStartAtOrBelow(this.v4Start, value, 0, this.v4Start.length - 1)
    } else {
      const b = (value / 65536) | 0
      i = lastStartAtOrBelow(this.v4Start, value, spanLo(buckets, b), (buckets[b + 1] as number) - 1)
    }
    return i >= 0 && value <= (this.v4End[i] as number)
  }
}
