/**
 * Request paths are matched after normalisation, so `/a/../health`,
 * `//health` and `/%68ealth` are all `/health`, and no spelling escapes a
 * scope. The decoded, normalised path is used for matching only: the upstream
 * still receives the request line the client sent, as nginx's `proxy_pass`
 * without a URI does.
 */

const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g

function decodeRun (run: string): string {
  // Byte-wise: invalid UTF-8 becomes U+FFFD instead of throwing (decodeURIComponent would).
  return Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8')
}

/**
 * Percent-decodes once (including `%2F`, so an encoded slash cannot hide a
 * segment boundary or a `..`), collapses duplicate slashes and resolves `.`
 * and `..` segments without ever climbing above `/`. A trailing slash is kept.
 * The query string must already be removed.
 */
export function normalizePath (raw: string): string {
  // Fast path, the common case: nothing to decode or resolve.
  if (raw.charCodeAt(0) === 47 && raw.indexOf('%') < 0 && raw.indexOf('//') < 0 && raw.indexOf('/.') < 0) return raw
  let path = raw.indexOf('%') < 0 ? raw : raw.replace(PERCENT_RUN, decodeRun)
  if (path.charCodeAt(0) !== 47) path = '/' + path
  const segments = path.split('/')
  const out: string[] = []
  let trailingSlash = false
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string
    const last = i === segments.length - 1
    if (segment === '' || segment === '.') {
      trailingSlash = last
    } else if (segment === '..') {
      out.pop()
      trailingSlash = last
    } else {
      out.push(segment)
      trailingSlash = false
    }
  }
  if (out.length === 0) return '/'
  return '/' + out.join('/') + (trailingSlash ? '/' : '')
}

/**
 * The path of a request target: origin-form (`/a?b`), absolute-form
 * (`http://host/a?b`, sent to proxies) or `*`. The query string is removed.
 */
export function requestPath (url: string): string {
  let end = url.indexOf('?')
  if (end < 0) end = url.length
  if (url.charCodeAt(0) === 47) return end === url.length ? url : url.slice(0, end)
  const scheme = url.indexOf('://')
  if (scheme > 0 && scheme < end) {
    const slash = url.indexOf('/', scheme + 3)
    return slash < 0 || slash > end ? '/' : url.slice(slash, end)
  }
  return '/' + url.slice(0, end)
}

export type PathMatcher = (normalizedPath: string) => boolean

export const MATCH_NONE: PathMatcher = () => false
const MATCH_ALL: PathMatcher = () => true

/** Normalises a configured prefix: `/v2/` and `/v2` are the same scope. */
export function normalizePrefix (prefix: string): string {
  const path = normalizePath(prefix.trim())
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
}

/**
 * Compiles prefixes into a whole-segment matcher: `/health` matches `/health`
 * and `/health/x`, not `/health-admin`. Few prefixes: a linear check; many: a
 * Set probed at each `/` of the path, so cost follows the path's depth.
 */
export function compilePathMatcher (prefixes: readonly string[]): PathMatcher {
  if (prefixes.length === 0) return MATCH_NONE
  const list = [...new Set(prefixes.map(normalizePrefix))]
  if (list.includes('/')) return MATCH_ALL
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

/** Paths under this prefix are answered by drawbridge itself and never proxied. */
export const RESERVED_PREFIX = '/__drawbridge/'

export function isReservedPath (normalizedPath: string): boolean {
  return normalizedPath.startsWith(RESERVED_PREFIX) || normalizedPath === '/__drawbridge'
}
