import { timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { CSRF_HEADER } from './session.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

const one = (v: string | string[] | undefined): string | undefined => Array.isArray(v) ? v[0] : v

/**
 * Why a request made with the console's session cookie must be refused as a
 * possible cross-site forgery, or null when it may proceed. Reads never
 * change state and pass. A change must come from the console's own origin,
 * as the browser tells it (`Sec-Fetch-Site`, which a page cannot forge, and
 * `Origin`, which must name the host the request was sent to), and must
 * carry the session's CSRF token in a header (which another site cannot
 * read, nor send without a CORS preflight this port never grants).
 * `expectedToken` null: the sign-in itself, which has no session yet.
 */
export function crossSiteRefusal (method: string, headers: IncomingHttpHeaders, expectedToken: string | null): string | null {
  if (SAFE_METHODS.has(method)) return null
  const site = one(headers['sec-fetch-site'])
  if (site !== undefined && site !== 'same-origin') return `the request came from another site (Sec-Fetch-Site: ${site})`
  const origin = one(headers.origin)
  if (origin === undefined) return 'a change made with the console session must carry an Origin header'
  let originHost: string
  try {
    originHost = new URL(origin).host
  } catch {
    return `Origin ${origin} is not this console's`
  }
  const host = one(headers.host)?.toLowerCase()
  if (host === undefined || originHost.toLowerCase() !== host) return `Origin ${origin} is not this console's`
  if (expectedToken === null) return null
  const presented = one(headers[CSRF_HEADER])
  if (presented === undefined) return `the ${CSRF_HEADER} header is missing`
  const a = Buffer.from(presented)
  const b = Buffer.from(expectedToken)
  if (a.length !== b.length || !timingSafeEqual(a, b)) return `the ${CSRF_HEADER} header does not match the session`
  return null
}
