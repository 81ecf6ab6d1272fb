import { isIP } from 'node:net'

export interface HostPort {
  /** Without brackets: `::1`, not `[::1]`. */
  host: string
  port: number
}

/** `host:port` with IPv6 in brackets (`[::1]:9090`); null when malformed. Port 0 is allowed (any free port). */
export function parseHostPort (value: string): HostPort | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):([0-9]{1,5})$/.exec(value)
  if (match === null) return null
  const port = Number(match[3])
  if (port > 65535) return null
  const host = match[1] ?? match[2] ?? ''
  if (match[1] !== undefined && isIP(host) !== 6) return null
  return { host, port }
}

export function formatHostPort (host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * Only these hosts keep the admin API off the network. `localhost` counts: it
 * resolves to a loopback address on any sane system, and refusing it would
 * surprise everyone.
 */
export function isLoopbackHost (host: string): boolean {
  const h = host.toLowerCase()
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true
  return /^::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}
