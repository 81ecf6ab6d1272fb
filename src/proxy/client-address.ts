import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { ConfigError } from '../errors.js'
import { firstValue } from '../http/request-headers.js'
import { CidrSet, isValidIp, unmapIp } from '../net/cidr-set.js'
import type { ForwardContext } from './headers.js'

/**
 * Who the client is. The socket peer, unless the peer is a trusted proxy: then
 * the right-most X-Forwarded-For entry that is not itself a trusted proxy (the
 * entries to its left were written by the client and prove nothing). With no
 * trusted proxies configured X-Forwarded-For is never read, so a client cannot
 * talk its way into the allowlist.
 */
export interface ClientAddress {
  resolve (peer: string, forwardedFor: string | string[] | undefined): string
  isTrusted (peer: string): boolean
}

/** `1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:443`, ` 2001:db8::1 ` → the address, or '' when not one. */
function entryAddress (entry: string): string {
  let text = entry.trim()
  if (text.charCodeAt(0) === 91) {
    const close = text.indexOf(']')
    text = close < 0 ? '' : text.slice(1, close)
  } else {
    const colon = text.indexOf(':')
    if (colon > 0 && text.indexOf(':', colon + 1) < 0) text = text.slice(0, colon) // IPv4 with port
  }
  return isValidIp(text) ? unmapIp(text) : ''
}

export function createClientAddress (trusted: CidrSet): ClientAddress {
  if (trusted.isEmpty) {
    return {
      resolve: (peer) => unmapIp(peer),
      isTrusted: () => false
    }
  }
  return {
    isTrusted: (peer) => trusted.has(peer),
    resolve (peer, forwardedFor) {
      const client = unmapIp(peer)
      if (forwardedFor === undefined || !trusted.has(peer)) return client
      const list = typeof forwardedFor === 'string' ? forwardedFor : forwardedFor.join(',')
      let last = client
      let end = list.length
      while (end > 0) {
        const comma = list.lastIndexOf(',', end - 1)
        const address = entryAddress(list.slice(comma + 1, end))
        // Garbage can only come from the untrusted side: the last good hop is the client.
        if (address === '') return last
        if (!trusted.has(address)) return address
        last = address
        end = comma < 0 ? 0 : comma
      }
      // Every hop is trusted: the left-most is as far as anyone can see.
      return last
    }
  }
}

/** From the `trustedProxies` setting; a bad CIDR is a ConfigError naming it. */
export function clientAddressFor (trustedProxies: readonly string[]): ClientAddress {
  let trusted: CidrSet
  try {
    trusted = CidrSet.compile([...trustedProxies])
  } catch (err) {
    throw new ConfigError('trustedProxies', (err as Error).message)
  }
  return createClientAddress(trusted)
}

function encrypted (req: IncomingMessage): boolean {
  return (req.socket as Partial<TLSSocket>).encrypted === true
}

/** Whether the client used https: TLS to the gateway, or a trusted proxy's X-Forwarded-Proto says so. */
export function isHttps (req: IncomingMessage, peer: string, clients: ClientAddress, forwardedProto: string | undefined): boolean {
  return encrypted(req) || (clients.isTrusted(peer) && firstValue(forwardedProto)?.toLowerCase() === 'https')
}

/** What the upstream is told about the client (headers.ts writes it into X-Forwarded-*). */
export function forwardContext (req: IncomingMessage, peer: string, clients: ClientAddress, flags: string): ForwardContext {
  return { peer: unmapIp(peer), trustedPeer: clients.isTrusted(peer), encrypted: encrypted(req), flags, upgrade: false }
}
