import { isVisibleAscii } from './safe-text.js'

/**
 * What the maintenance `redirect` may be: a path on this site (`/status`,
 * `/status?from=app`), or an absolute http(s) URL. Both end up verbatim in a
 * `Location` header, so the text must be visible ASCII: a CR/LF would split
 * the response, a NUL or non-ASCII byte makes Node refuse the header (and,
 * before this check, killed the process). Browsers read a backslash as a
 * slash and drop tabs and newlines, so `/\evil.test` and `/\t/evil.test` are
 * `//evil.test`, another site: backslashes are refused everywhere, and a path
 * may not start with `//`.
 */

export type RedirectProblem = string

/** Null when `value` is a safe redirect target, else what is wrong with it. */
export function redirectProblem (value: string): RedirectProblem | null {
  if (value === '') return 'must not be empty (null clears it)'
  if (!isVisibleAscii(value)) return 'must be visible ASCII: no spaces, control characters (CR, LF, NUL, tab) or non-ASCII characters; percent-encode them'
  if (value.includes('\\')) return 'must not contain a backslash (browsers read it as "/", which turns a path into another site)'
  if (value.startsWith('/')) {
    if (value.startsWith('//')) return 'must not start with "//" (browsers read that as another site); give an absolute URL instead'
    return null
  }
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'must be a path starting with "/" or an absolute http(s) URL'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be a path starting with "/" or an absolute http(s) URL'
  if (!/^https?:\/\/[^/]/i.test(value) || url.hostname === '') return 'must name a host, like https://status.example.com/'
  if (url.username !== '' || url.password !== '') return 'must not contain credentials (user:password@)'
  return null
}

/** The path part of a site-relative target (`/a/b?x#y` → `/a/b`), or null for an absolute URL. */
export function redirectPath (value: string): string | null {
  if (!value.startsWith('/')) return null
  const end = value.search(/[?#]/)
  return end < 0 ? value : value.slice(0, end)
}
