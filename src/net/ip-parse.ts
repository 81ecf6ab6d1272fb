/**
 * Strict IPv4/IPv6 address and CIDR parsing, with no allocation for a lookup
 * address (scratch buffers below): what the CIDR set parses at compile time
 * and on every request.
 */

export class CidrError extends Error {
  constructor (readonly input: string, problem: string) {
    super(`invalid CIDR "${input}": ${problem}`)
    this.name = 'CidrError'
  }
}

export type ParsedCidr =
  | { family: 4, prefix: number, start: number, end: number }
  | { family: 6, prefix: number, start: bigint, end: bigint }

export const MAPPED_START = 0xffffn << 32n
export const MAPPED_END = MAPPED_START + 0xffffffffn
const ALL_128 = (1n << 128n) - 1n

// Scratch buffers: parsing a lookup address allocates nothing.
export const groups = new Uint16Array(8)
export const words = new Uint32Array(4)

/**
 * Parses dotted-quad IPv4 in text[from, to) into a uint32, or -1. Strict:
 * four decimal octets 0-255, no leading zeros (they mean octal to some tools).
 */
export function parseV4 (text: string, from: number, to: number): number {
  let value = 0
  let octet = 0
  let digits = 0
  let dots = 0
  let leadingZero = false
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      if (leadingZero) return -1
      if (digits === 0 && c === 48) leadingZero = true
      octet = octet * 10 + (c - 48)
      if (++digits > 3 || octet > 255) return -1
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1
      value = value * 256 + octet
      octet = 0
      digits = 0
      leadingZero = false
    } else {
      return -1
    }
  }
  if (digits === 0 || dots !== 3) return -1
  return value * 256 + octet
}

function hexValue (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/**
 * Parses IPv6 text[from, to) into the `groups` scratch array; false when
 * invalid. Handles `::` compression and a trailing embedded IPv4 address.
 */
export function parseV6 (text: string, from: number, to: number): boolean {
  let count = 0
  let gap = -1
  let i = from
  if (to - from < 2) return false
  if (text.charCodeAt(i) === 58) {
    if (text.charCodeAt(i + 1) !== 58) return false
    gap = 0
    i += 2
    if (i === to) { groups.fill(0); return true }
  }
  while (i < to) {
    if (count === 8) return false
    let value = 0
    let digits = 0
    const start = i
    while (i < to) {
      const h = hexValue(text.charCodeAt(i))
      if (h < 0) break
      value = value * 16 + h
      if (++digits > 4) return false
      i++
    }
    if (i < to && text.charCodeAt(i) === 46) {
      // Embedded IPv4 takes the last two groups.
      if (count > 6) return false
      const v4 = parseV4(text, start, to)
      if (v4 < 0) return false
      groups[count++] = v4 >>> 16
      groups[count++] = v4 & 0xffff
      i = to
      break
    }
    if (digits === 0) return false
    groups[count++] = value
    if (i === to) break
    if (text.charCodeAt(i) !== 58) return false
    i++
    if (i < to && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false
      gap = count
      i++
    } else if (i === to) {
      return false
    }
  }
  if (gap < 0) return count === 8
  if (count === 8) return false
  const tail = count - gap
  for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k] as number
  for (let k = gap; k < 8 - tail; k++) groups[k] = 0
  return true
}

function groupsToBigInt (): bigint {
  let v = 0n
  for (let k = 0; k < 8; k++) v = (v << 16n) | BigInt(groups[k] as number)
  return v
}

/** True when the parsed `groups` hold an IPv4-mapped address (::ffff:0:0/96). */
export function groupsAreMapped (): boolean {
  return groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 &&
    groups[4] === 0 && groups[5] === 0xffff
}

function parsePrefix (input: string, text: string, max: number): number {
  if (!/^(0|[1-9][0-9]{0,2})$/.test(text)) throw new CidrError(input, `prefix "/${text}" is not a number`)
  const prefix = Number(text)
  if (prefix > max) throw new CidrError(input, `prefix /${prefix} is larger than /${max}`)
  return prefix
}

/**
 * Parses `a.b.c.d[/n]` or `x:y::z[/n]` (a bare address is a /32 or /128).
 * Host bits below the prefix are ignored, as nginx does (`10.1.2.3/8` is
 * `10.0.0.0/8`). Throws CidrError naming what is wrong.
 */
export function parseCidr (text: string): ParsedCidr {
  if (typeof text !== 'string') throw new CidrError(String(text), 'not a string')
  const input = text.trim()
  if (input === '') throw new CidrError(text, 'empty')
  const slash = input.indexOf('/')
  const address = slash < 0 ? input : input.slice(0, slash)
  if (address.includes('%')) throw new CidrError(text, 'zone indexes (%...) are not allowed')
  if (input.includes(':')) {
    if (!parseV6(address, 0, address.length)) throw new CidrError(text, `"${address}" is not an IPv6 address`)
    const prefix = slash < 0 ? 128 : parsePrefix(text, input.slice(slash + 1), 128)
    const hostBits = BigInt(128 - prefix)
    const mask = ((ALL_128 >> hostBits) << hostBits) & ALL_128
    const start = groupsToBigInt() & mask
    return { family: 6, prefix, start, end: start | (ALL_128 ^ mask) }
  }
  const v4 = parseV4(address, 0, address.length)
  if (v4 < 0) {
    const hint = /^[0-9.]+$/.test(address) ? ' (four decimal octets 0-255, no leading zeros)' : ''
    throw new CidrError(text, `"${address}" is not an IPv4 address${hint}`)
  }
  const prefix = slash < 0 ? 32 : parsePrefix(text, input.slice(slash + 1), 32)
  const size = 2 ** (32 - prefix)
  const start = v4 - (v4 % size)
  return { family: 4, prefix, start, end: start + size - 1 }
}

export function isValidCidr (text: string): boolean {
  try {
    parseCidr(text)
    return true
  } catch {
    return false
  }
}

/** Strict single address check (no prefix); zone ids are accepted for IPv6. */
export function isValidIp (text: string): boolean {
  if (text.includes(':')) {
    const zone = text.indexOf('%')
    return parseV6(text, 0, zone < 0 ? text.length : zone)
  }
  return parseV4(text, 0, text.length) >= 0
}

/** Canonical short form for IPv4-mapped IPv6 (`::ffff:1.2.3.4` → `1.2.3.4`). */
export function unmapIp (ip: string): string {
  if (ip.length > 7 && ip.charCodeAt(0) === 58 && ip.startsWith('::ffff:') && ip.includes('.', 7)) return ip.slice(7)
  return ip
}
