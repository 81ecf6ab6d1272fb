import { BYPASS_COOKIE, withoutCookie } from '../maintenance/bypass-cookie.js'

/**
 * Header rewriting between client and upstream, done on the raw header lists
 * Node and undici already have (no header objects built per request).
 */

const enum Kind {
  Keep = 0,
  Drop = 1,
  ForwardedFor = 2,
  ForwardedProto = 3,
  ForwardedHost = 4,
  Connection = 5,
  Host = 6,
  Upgrade = 7,
  Cookie = 8,
  /** Client-address claims other than X-Forwarded-For: kept only from a trusted proxy. */
  ClientClaim = 9
}

/**
 * Headers that name the client's address. The gateway decides on the TCP peer
 * (or a trusted proxy's X-Forwarded-For); an upstream that reads one of these
 * would otherwise believe what any client wrote. Traefik strips forwarded
 * headers from untrusted sources the same way.
 */
const CLIENT_CLAIMS = new Set(['forwarded', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip', 'fastly-client-ip', 'x-cluster-client-ip', 'x-forwarded'])

/**
 * Headers that replace the request path in some upstreams (IIS URL Rewrite,
 * Zend/Laminas and Symfony before CVE-2018-14773 read X-Original-URL and
 * X-Rewrite-URL as the path): the gateway decided on the request line, so the
 * upstream must act on that, whoever sent them.
 */
const PATH_OVERRIDES = new Set(['x-original-url', 'x-rewrite-url', 'x-original-uri', 'x-override-url'])

/** RFC 9110 section 7.6.1 hop-by-hop fields, plus the non-standard ones proxies also strip. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection'])

function requestKind (lower: string): Kind {
  // CGI, PHP, WSGI and Rack read `X_Drawbridge_Flags` as `X-Drawbridge-Flags`
  // (both become HTTP_X_DRAWBRIDGE_FLAGS). Any spelling of a header drawbridge
  // owns, and an underscore spelling of one it sets or strips, is dropped.
  if (lower.indexOf('_') >= 0) {
    const dashed = lower.replace(/_/g, '-')
    if (dashed.startsWith('x-drawbridge-')) return Kind.Drop
    return requestKind(dashed) === Kind.Keep && dashed !== 'content-length' ? Kind.Keep : Kind.Drop
  }
  // Drawbridge's own request headers: the bypass secret never reaches the
  // upstream, and flags are only what drawbridge says they are.
  if (lower.startsWith('x-drawbridge-')) return Kind.Drop
  switch (lower) {
    case 'x-forwarded-for': return Kind.ForwardedFor
    case 'x-forwarded-proto': return Kind.ForwardedProto
    case 'x-forwarded-host': return Kind.ForwardedHost
    case 'connection': return Kind.Connection
    case 'host': return Kind.Host
    case 'upgrade': return Kind.Upgrade
    case 'cookie': return Kind.Cookie
    // Expect: Node has already answered 100-continue to the client, and undici refuses it.
    case 'expect':
      return Kind.Drop
  }
  if (CLIENT_CLAIMS.has(lower)) return Kind.ClientClaim
  if (PATH_OVERRIDES.has(lower)) return Kind.Drop
  return HOP_BY_HOP.has(lower) || lower.startsWith('proxy-') ? Kind.Drop : Kind.Keep
}

/**
 * Header names arrive with the client's casing; classifying means lower-casing.
 * Clients repeat the same few spellings, so remember them (bounded).
 */
const requestKinds = new Map<string, Kind>()
const responseDrop = new Map<string, boolean>()
const MEMO_LIMIT = 2048

function kindOf (name: string): Kind {
  let kind = requestKinds.get(name)
  if (kind === undefined) {
    kind = requestKind(name.toLowerCase())
    if (requestKinds.size >= MEMO_LIMIT) requestKinds.clear()
    requestKinds.set(name, kind)
  }
  return kind
}

/** Extra field names a Connection header declares hop-by-hop (beyond the standard ones). */
function connectionTokens (value: string): Set<string> | null {
  // Nearly every message says just one of these.
  const lower = value.toLowerCase()
  if (lower === 'keep-alive' || lower === 'close' || lower === 'upgrade') return null
  let tokens: Set<string> | null = null
  for (const token of value.split(',')) {
    const t = token.trim().toLowerCase()
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue
    tokens ??= new Set()
    tokens.add(t)
  }
  return tokens
}

export interface ForwardContext {
  /** Socket peer, as written into X-Forwarded-For. */
  peer: string
  /** The peer is a trusted proxy: its X-Forwarded-Proto/-Host are kept. */
  trustedPeer: boolean
  encrypted: boolean
  /** X-Drawbridge-Flags value; '' for none. */
  flags: string
  /** Keep Connection/Upgrade (a WebSocket handshake written on a raw socket). */
  upgrade: boolean
}

/**
 * The header list sent upstream: hop-by-hop fields, drawbridge's own
 * headers and path overrides removed, X-Forwarded-For appended to a trusted
 * proxy's chain (else the peer alone), other client-address claims kept only
 * from a trusted proxy, X-Forwarded-Proto/-Host set
 * (kept from a trusted proxy), X-Drawbridge-Flags added. Host is left out for
 * undici to set from the upstream origin, unless `upgrade` (raw socket).
 */
export function forwardHeaders (raw: string[], ctx: ForwardContext, upstreamHost: string): string[] {
  const out: string[] = []
  let forwardedFor: string | undefined
  let proto: string | undefined
  let forwardedHost: string | undefined
  let host: string | undefined
  let connection: string | undefined
  let upgrade: string | undefined
  let extraDrops: Set<string> | null = null
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    const value = raw[i + 1] as string
    switch (kindOf(name)) {
      case Kind.Keep: out.push(name, value); break
      case Kind.Drop: break
      // From an untrusted peer the chain is forged or meaningless: the upstream gets the peer alone.
      case Kind.ForwardedFor: if (ctx.trustedPeer) forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`; break
      case Kind.ClientClaim: if (ctx.trustedPeer) out.push(name, value); break
      case Kind.ForwardedProto: proto ??= value; break
      case Kind.ForwardedHost: forwardedHost ??= value; break
      case Kind.Host: host ??= value; break
      case Kind.Upgrade: upgrade ??= value; break
      case Kind.Connection: connection = connection === undefined ? value : `${connection}, ${value}`; break
      case Kind.Cookie: {
        // The bypass cookie is drawbridge's credential, not the application's.
        const kept = value.indexOf(BYPASS_COOKIE) < 0 ? value : withoutCookie(value, BYPASS_COOKIE)
        if (kept !== null) out.push(name, kept)
        break
      }
    }
  }
  if (connection !== undefined) extraDrops = connectionTokens(connection)
  if (extraDrops !== null) {
    const kept: string[] = []
    for (let i = 0; i < out.length; i += 2) {
      if (!extraDrops.has((out[i] as string).toLowerCase())) kept.push(out[i] as string, out[i + 1] as string)
    }
    out.length = 0
    out.push(...kept)
  }
  out.push('x-forwarded-for', forwardedFor === undefined ? ctx.peer : `${forwardedFor}, ${ctx.peer}`)
  out.push('x-forwarded-proto', ctx.trustedPeer && proto !== undefined ? proto : ctx.encrypted ? 'https' : 'http')
  const publicHost = ctx.trustedPeer && forwardedHost !== undefined ? forwardedHost : host
  if (publicHost !== undefined) out.push('x-forwarded-host', publicHost)
  if (ctx.flags !== '') out.push('x-drawbridge-flags', ctx.flags)
  if (ctx.upgrade) {
    out.push('host', upstreamHost, 'connection', 'Upgrade')
    if (upgrade !== undefined) out.push('upgrade', upgrade)
  }
  return out
}

function dropResponseHeader (name: string): boolean {
  let drop = responseDrop.get(name)
  if (drop === undefined) {
    const lower = name.toLowerCase()
    drop = HOP_BY_HOP.has(lower) || lower.startsWith('proxy-')
    if (responseDrop.size >= MEMO_LIMIT) responseDrop.clear()
    responseDrop.set(name, drop)
  }
  return drop
}

/** undici's raw response headers (Buffers) → a flat list for res.writeHead, hop-by-hop fields removed. */
export function responseHeaders (raw: Buffer[]): string[] {
  const out: string[] = []
  let connection: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString('latin1')
    const value = (raw[i + 1] as Buffer).toString('latin1')
    if (dropResponseHeader(name)) {
      if (name.length === 10 && name.toLowerCase() === 'connection') connection = value
      continue
    }
    out.push(name, value)
  }
  if (connection !== undefined) {
    const extra = connectionTokens(connection)
    if (extra !== null) {
      const kept: string[] = []
      for (let i = 0; i < out.length; i += 2) {
        if (!extra.has((out[i] as string).toLowerCase())) kept.push(out[i] as string, out[i + 1] as string)
      }
      return kept
    }
  }
  return out
}
