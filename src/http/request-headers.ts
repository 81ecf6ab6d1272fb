/**
 * The few request headers the gateway decides on, read straight from
 * `req.rawHeaders`. Touching `req.headers` makes Node build an object of every
 * header on every request; a maintenance answer needs four of them.
 */
export interface RequestHeaders {
  cookie: string | undefined
  bypass: string | undefined
  forwardedFor: string | undefined
  forwardedProto: string | undefined
  accept: string | undefined
  contentLength: string | undefined
  transferEncoding: string | undefined
  /** X-HTTP-Method-Override / X-HTTP-Method / X-Method-Override (see maintenance/types.ts). */
  methodOverride: string | undefined
}

/** True when `name` equals `lower` ignoring ASCII case (`lower` is lower-case letters and '-'). */
function is (name: string, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false
  }
  return true
}

export function emptyRequestHeaders (): RequestHeaders {
  return { cookie: undefined, bypass: undefined, forwardedFor: undefined, forwardedProto: undefined, accept: undefined, contentLength: undefined, transferEncoding: undefined, methodOverride: undefined }
}

/**
 * One header from a raw list, for the few readers outside the gateway's scan
 * (the flags identity): `lower` is the lower-case name. Repeated headers join
 * with `join` (Cookie: '; ') or, without it, the first one wins.
 */
export function readRawHeader (raw: string[], lower: string, join?: string): string | undefined {
  let found: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    // toLowerCase only on a length match: names may hold characters `is` does not fold (digits, '_').
    if (name.length !== lower.length || name.toLowerCase() !== lower) continue
    const value = raw[i + 1] as string
    if (found === undefined) found = value
    else if (join === undefined) return found
    else found = found + join + value
  }
  return found
}

/**
 * More than one Host field: RFC 9112 section 3.2 says answer 400. Node keeps
 * the first and an upstream behind another parser may read the last, so the
 * gateway and the application could disagree on which site was asked for.
 */
export function hasRepeatedHost (raw: string[]): boolean {
  let seen = false
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 4 && is(name, 'host')) {
      if (seen) return true
      seen = true
    }
  }
  return false
}

/** Fills `out` (reused: the caller is synchronous) from a raw header list. Repeated headers join as Node does. */
export function readRequestHeaders (raw: string[], out: RequestHeaders): RequestHeaders {
  out.cookie = undefined
  out.bypass = undefined
  out.forwardedFor = undefined
  out.forwardedProto = undefined
  out.accept = undefined
  out.contentLength = undefined
  out.transferEncoding = undefined
  out.methodOverride = undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    switch (name.length) {
      case 13:
        if (is(name, 'x-http-method')) out.methodOverride ??= raw[i + 1]
        break
      case 22:
        if (is(name, 'x-http-method-override')) out.methodOverride ??= raw[i + 1]
        break
      case 6:
        if (is(name, 'cookie')) {
          const value = raw[i + 1] as string
          out.cookie = out.cookie === undefined ? value : `${out.cookie}; ${value}`
        } else if (is(name, 'accept')) {
          out.accept ??= raw[i + 1]
        }
        break
      case 14:
        if (is(name, 'content-length')) out.contentLength ??= raw[i + 1]
        break
      case 15:
        if (is(name, 'x-forwarded-for')) {
          const value = raw[i + 1] as string
          out.forwardedFor = out.forwardedFor === undefined ? value : `${out.forwardedFor}, ${value}`
        }
        break
      case 17:
        if (is(name, 'x-forwarded-proto')) out.forwardedProto ??= raw[i + 1]
        else if (is(name, 'transfer-encoding')) out.transferEncoding ??= raw[i + 1]
        else if (is(name, 'x-method-override')) out.methodOverride ??= raw[i + 1]
        break
      case 19:
        // A repeated bypass header is ambiguous: refuse it rather than pick one.
        if (is(name, 'x-drawbridge-bypass')) out.bypass = out.bypass === undefined ? raw[i + 1] : ''
        break
    }
  }
  return out
}

/** The first entry of a comma-separated header value (X-Forwarded-Proto: `https, http`), trimmed. */
export function firstValue (value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined
  const text = typeof value === 'string' ? value : value[0]
  if (text === undefined) return undefined
  const comma = text.indexOf(',')
  return (comma < 0 ? text : text.slice(0, comma)).trim()
}
