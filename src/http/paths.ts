/**
 * Request targets and path rules (docs/security.md, "Request targets").
 *
 * A target is parsed strictly: one with `#`, a backslash, a control byte,
 * DEL, raw non-ASCII, a bad percent escape, or a spelling that common
 * upstreams resolve differently (a leading `//`, an encoded `/`, `\` or
 * control byte, double encoding, `..` above the root or after `//`, dot
 * segments hidden behind `;params` or trailing spaces) is refused with 400.
 *
 * What is left is normalised (RFC 3986 section 6: percent-encoded unreserved
 * characters decoded, other escapes upper-cased, `.`/`..` resolved, duplicate
 * slashes merged) and that normalised form, not the client's spelling, is what
 * the upstream receives, as Envoy does with `normalize_path` and
 * `merge_slashes`. Forwarding the client's bytes (nginx's `proxy_pass` without
 * a URI) would let the gateway decide on one path while the upstream acts on
 * another: `/health/..;/admin` is `/health/...` here but `/admin` to a servlet
 * container. With the normalised form, the path the gateway decided on is the
 * path the upstream acts on, whatever its parser.
 *
 * Rules then match in two ways. Block rules (`paths` scope, flag gates) match
 * every spelling an upstream could read as the blocked path: case-folded
 * (Express routes case-insensitively), `;params` stripped from each segment
 * (servlets), trailing dots and spaces trimmed (IIS). Allow rules
 * (`exceptPaths`) match only the exact normalised path, case-sensitive, and
 * never a path with `;` in a segment.
 */

/** The parsed target: `path` is decided on, `forward` is sent upstream. */
export interface Target {
  /** Percent-decoded, normalised path (no query). */
  path: string
  /** Origin-form target for the upstream: the normalised path, still encoded, and the client's query. */
  forward: string
}

export function emptyTarget (): Target {
  return { path: '/', forward: '/' }
}

// Per ASCII code: 0 plain, 1 refused anywhere in a target, 2 needs the slow path in a path.
const CLASS = new Uint8Array(128)
for (let c = 0; c < 0x21; c++) CLASS[c] = 1
CLASS[0x7f] = 1
CLASS[0x23] = 1 // '#'
CLASS[0x5c] = 1 // '\'
CLASS[0x25] = 2 // '%'
CLASS[0x2e] = 2 // '.': only after '/' (checked in the loop)

const HEX = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i
for (let i = 0; i < 6; i++) { HEX[0x41 + i] = 10 + i; HEX[0x61 + i] = 10 + i }

function isUnreserved (b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e
}

const HEX_DIGITS = '0123456789ABCDEF'
const utf8 = new TextDecoder('utf-8', { fatal: true })
const DOUBLE_ENCODED = /%[0-9a-fA-F]{2}/

/** One raw segment, decoded and re-encoded; null when it must be refused. */
function segment (raw: string): { decoded: string, encoded: string } | null {
  if (raw.indexOf('%') < 0) return { decoded: raw, encoded: raw }
  let encoded = ''
  const bytes: number[] = []
  let ascii = true
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if (c !== 0x25) {
      bytes.push(c)
      encoded += raw[i] as string
      continue
    }
    const hi = HEX[raw.charCodeAt(i + 1)] ?? -1
    const lo = HEX[raw.charCodeAt(i + 2)] ?? -1
    if (hi < 0 || lo < 0) return null
    const b = hi * 16 + lo
    i += 2
    // An encoded separator, backslash or control byte is read as a separator
    // by some upstreams and as data by others.
    if (b < 0x20 || b === 0x7f || b === 0x2f || b === 0x5c) return null
    if (b >= 0x80) ascii = false
    bytes.push(b)
    encoded += isUnreserved(b) ? String.fromCharCode(b) : '%' + (HEX_DIGITS[hi] as string) + (HEX_DIGITS[lo] as string)
  }
  let decoded: string
  if (ascii) {
    decoded = String.fromCharCode(...bytes)
  } else {
    try { decoded = utf8.decode(Uint8Array.from(bytes)) } catch { return null }
  }
  // Decoded once, it still holds an escape: an upstream that decodes twice reads another path.
  if (DOUBLE_ENCODED.test(decoded)) return null
  return { decoded, encoded }
}

/** `..;x`, `.;`, `.. `, `...`: a dot segment to some upstream, a name to others. */
function ambiguousDots (decoded: string): boolean {
  if (decoded.charCodeAt(0) !== 0x2e && decoded.charCodeAt(0) !== 0x3b) return false
  let end = decoded.indexOf(';')
  if (end < 0) end = decoded.length
  while (end > 0 && decoded.charCodeAt(end - 1) === 0x20) end--
  if (end === 0) return false
  for (let i = 0; i < end; i++) if (decoded.charCodeAt(i) !== 0x2e) return false
  return true
}

/** Slow path: split, decode, resolve. `path` starts with '/', `query` is '' or starts with '?'. */
function normalizeSlow (path: string, query: string, out: Target): boolean {
  // `//x/admin` is a network-path reference: WHATWG URL and url.parse read host `x`, path `/admin`.
  if (path.charCodeAt(1) === 0x2f) return false
  const raws = path.split('/')
  const decoded: string[] = []
  const encoded: string[] = []
  let trailingSlash = false
  let sawEmpty = false
  for (let i = 1; i < raws.length; i++) {
    const seg = segment(raws[i] as string)
    if (seg === null) return false
    const last = i === raws.length - 1
    const d = seg.decoded
    if (d === '' || d === '.') {
      if (d === '' && !last) sawEmpty = true
      trailingSlash = last
    } else if (d === '..') {
      // Above the root; or after `//` (or `/;x/`), where WHATWG URL pops the
      // empty segment and Tomcat (slashes merged first) the named one before it.
      if (decoded.length === 0 || sawEmpty) return false
      decoded.pop()
      encoded.pop()
      trailingSlash = last
    } else {
      if (ambiguousDots(d)) return false
      // `;x` alone is an empty segment to a servlet container: a later `..` pops differently there.
      if (d.charCodeAt(0) === 0x3b) sawEmpty = true
      decoded.push(d)
      encoded.push(seg.encoded)
      trailingSlash = false
    }
  }
  const tail = trailingSlash && decoded.length > 0 ? '/' : ''
  out.path = '/' + decoded.join('/') + tail
  out.forward = '/' + encoded.join('/') + tail + query
  return true
}

/** `http://host[:port]` (any case), else -1: the index where the path or query starts. */
function authorityEnd (url: string): number {
  const colon = url.indexOf('://')
  if (colon < 0) return -1
  const scheme = url.slice(0, colon).toLowerCase()
  if (scheme !== 'http' && scheme !== 'https') return -1
  let i = colon + 3
  const start = i
  for (; i < url.length; i++) {
    const c = url.charCodeAt(i)
    if (c === 0x2f || c === 0x3f) break
    // Host, port, IPv6 brackets; no userinfo.
    const ok = (c >= 0x30 && c <= 0x3a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5b || c === 0x5d || c === 0x5f
    if (!ok) return -1
  }
  return i === start ? -1 : i
}

/**
 * Anything that needs a closer look: a byte outside printable ASCII, `#`,
 * `%`, a backslash, `//` or `/.` (anywhere, the query included: a false alarm
 * there only costs the careful path). One regex test is cheaper than a
 * character loop in JS for the short targets of real traffic.
 */
const SPECIAL = /[^\x21-\x7e]|[#%\\]|\/[/.]/

/**
 * Parses a request target (origin-form `/a?b`, absolute-form
 * `http://host/a?b`, or `*`) into `out`. False: refuse with 400.
 * Clean targets (the common case) take a fast path: one regex test, and the
 * target is forwarded as it came.
 */
export function parseTarget (url: string, out: Target): boolean {
  if (url.charCodeAt(0) === 0x2f && !SPECIAL.test(url)) {
    const q = url.indexOf('?')
    out.path = q < 0 ? url : url.slice(0, q)
    out.forward = url
    return true
  }
  return parseCarefully(url, out)
}

function parseCarefully (url: string, out: Target): boolean {
  let start = 0
  if (url.charCodeAt(0) !== 0x2f) {
    // OPTIONS *: undici sends origin-form only, so it is decided and forwarded as `/*`.
    if (url === '*') { out.path = '/*'; out.forward = '/*'; return true }
    start = authorityEnd(url)
    if (start < 0) return false
  }
  let slow = start > 0
  let end = url.length
  let prev = 0x2f
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i)
    if (c >= 0x80) return false
    const k = CLASS[c] as number
    if (k === 1) return false
    if (c === 0x3f) { end = i; break }
    if (prev === 0x2f && (c === 0x2f || c === 0x2e)) slow = true
    else if (k === 2 && c === 0x25) slow = true
    prev = c
  }
  // The query is never decided on, so it is only checked for bytes no target may hold.
  for (let i = end + 1; i < url.length; i++) {
    const c = url.charCodeAt(i)
    if (c >= 0x80 || CLASS[c] === 1) return false
  }
  if (!slow) {
    out.path = end === url.length ? url : url.slice(0, end)
    out.forward = url
    return true
  }
  let path = url.slice(start, end)
  if (path === '') path = '/'
  return normalizeSlow(path, url.slice(end), out)
}

/** The normalised path of a target, or null when the target is refused. */
export function normalizeTarget (url: string): string | null {
  const out = emptyTarget()
  return parseTarget(url, out) ? out.path : null
}

/**
 * Lenient normalisation, for configured prefixes that would not parse as a
 * target (a request can never reach them, so they only need to be harmless).
 */
function lenientNormalize (raw: string): string {
  const out: string[] = []
  for (const segment of raw.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') out.pop()
    else out.push(segment)
  }
  return '/' + out.join('/')
}

/** Normalises a configured prefix: `/v2/` and `/v2` are the same scope. */
export function normalizePrefix (prefix: string): string {
  const trimmed = prefix.trim()
  const path = normalizeTarget(trimmed.startsWith('/') ? trimmed : '/' + trimmed) ?? lenientNormalize(trimmed)
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

function foldSegment (segment: string): string {
  let end = segment.indexOf(';')
  if (end < 0) end = segment.length
  while (end > 0 && (segment.charCodeAt(end - 1) === 0x2e || segment.charCodeAt(end - 1) === 0x20)) end--
  let s = end === segment.length ? segment : segment.slice(0, end)
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      // Compatibility forms (fullwidth letters) and the characters whose
      // upper case is ASCII (`ſ`, `ı`) read as ASCII to some matchers.
      s = s.normalize('NFKC').toUpperCase().toLowerCase()
      return s
    }
  }
  return s.toLowerCase()
}

/** Upper case, `;`, non-ASCII, a segment ending in `.` or space, `//`: something to fold. */
const FOLDABLE = /[A-Z;\u0080-\uffff]|[. ](?:\/|$)|\/\//

/**
 * The spelling block rules match on: each segment with `;params` cut,
 * trailing dots and spaces trimmed, case-folded; empty segments dropped.
 * Most paths are already in that form and are returned as they are.
 */
export function blockView (path: string): string {
  if (!FOLDABLE.test(path)) return path
  const out: string[] = []
  for (const segment of path.split('/')) {
    const folded = foldSegment(segment)
    if (folded !== '') out.push(folded)
  }
  return '/' + out.join('/')
}

// Scope and gates look at the same path in one request: fold it once.
let lastPath = '/'
let lastView = '/'
function cachedBlockView (path: string): string {
  if (path !== lastPath) {
    lastView = blockView(path)
    lastPath = path
  }
  return lastView
}

export type PathMatcher = (normalizedPath: string) => boolean

export const MATCH_NONE: PathMatcher = () => false
const MATCH_ALL: PathMatcher = () => true

/**
 * Whole-segment prefix test over a list: `/health` matches `/health` and
 * `/health/x`, not `/health-admin`. Few prefixes: a linear check; many: a
 * Set probed at each `/` of the path, so cost follows the path's depth.
 */
function prefixTest (list: readonly string[]): PathMatcher {
  if (list.length <= 8) {
    return (path) => {
      for (let i = 0; i < list.length; i++) {
        const p = list[i] as string
        if (path.startsWith(p) && (path.length === p.length || path.charCodeAt(p.length) === 47)) return true
      }
      return false
    }
  }
  const set = new Set(list)
  return (path) => {
    let slash = path.indexOf('/', 1)
    while (slash > 0) {
      if (set.has(path.slice(0, slash))) return true
      slash = path.indexOf('/', slash + 1)
    }
    return set.has(path)
  }
}

/** Block rules (`paths` scope, flag gates): every spelling an upstream could read as a listed prefix. */
export function compileBlockMatcher (prefixes: readonly string[]): PathMatcher {
  if (prefixes.length === 0) return MATCH_NONE
  const list = [...new Set(prefixes.map((p) => blockView(normalizePrefix(p))))]
  if (list.includes('/')) return MATCH_ALL
  const test = prefixTest(list)
  return (path) => test(cachedBlockView(path))
}

/** Allow rules (`exceptPaths`): the exact normalised path only, and never one with `;params`. */
export function compileAllowMatcher (prefixes: readonly string[]): PathMatcher {
  if (prefixes.length === 0) return MATCH_NONE
  const list = [...new Set(prefixes.map(normalizePrefix))]
  const test = list.includes('/') ? MATCH_ALL : prefixTest(list)
  return (path) => path.indexOf(';') < 0 && test(path)
}

/** Paths under this prefix are answered by drawbridge itself and never proxied. */
export const RESERVED_PREFIX = '/__drawbridge/'

export function isReservedPath (normalizedPath: string): boolean {
  return normalizedPath.startsWith(RESERVED_PREFIX) || normalizedPath === '/__drawbridge'
}
