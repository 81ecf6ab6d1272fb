import { accessSync, constants } from 'node:fs'
import { ConfigError } from '../errors.js'
import { CidrError, parseCidr } from '../net/cidr-set.js'
import { isLoopbackHost, parseHostPort } from './host-port.js'
import { maskCredentials } from '../input/mask-credentials.js'
import type { Config } from './schema.js'
import { namedUpstreams } from './upstream-list.js'

/**
 * A PostgreSQL schema name the state store accepts: lower case, so it means
 * the same quoted and unquoted, and short enough for its `<schema>.changes`
 * channel to fit PostgreSQL's 63-byte identifiers.
 */
export const STATE_SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,47}$/

/**
 * Checks the schema cannot express: URLs, addresses, CIDRs, token rules.
 * `nameOf(key)` spells a setting the way the user gave it (`--upstream`,
 * `DRAWBRIDGE_UPSTREAM`, `upstream (config.yaml)`), so every error points at
 * the exact thing to fix.
 */

export interface CheckOptions {
  /** `serve` needs an upstream; client commands that only read settings do not. */
  requireUpstream: boolean
}

/** Every message quotes the value with its credentials masked: errors end up in terminals, CI logs and tickets. */
function checkUrl (value: string, name: string, protocols: string[], example: string): URL {
  const shown = maskCredentials(value)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(name, `"${shown}" is not a URL (expected e.g. ${example})`)
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `"${shown}" must use ${protocols.map((p) => p.replace(/:$/, '')).join(' or ')} (expected e.g. ${example})`)
  }
  if (url.hostname === '' && url.protocol.startsWith('http')) throw new ConfigError(name, `"${shown}" has no host`)
  return url
}

function checkAddress (value: string, name: string, example: string): void {
  if (parseHostPort(value) === null) {
    throw new ConfigError(name, `"${value}" is not host:port with a port from 0 to 65535 (expected e.g. ${example}; IPv6 in brackets: [::1]:9090)`)
  }
}

function checkTokens (config: Config, nameOf: (key: string) => string): void {
  const seen = new Map<string, string>()
  const claim = (token: string, owner: string): void => {
    const other = seen.get(token)
    if (other !== undefined) throw new ConfigError(owner, `is the same token as ${other}; each token must be distinct so the audit log can tell them apart`)
    seen.set(token, owner)
  }
  if (config.adminToken !== undefined) claim(config.adminToken, nameOf('adminToken'))
  if (config.readToken !== undefined) claim(config.readToken, nameOf('readToken'))
  const names = new Set<string>()
  config.tokens.forEach((t, i) => {
    const where = nameOf(`tokens[${i}]`)
    // The name is what the audit log records, so it must identify one token.
    const taken = names.has(t.name) || t.name === 'anonymous' ||
      (t.name === 'admin' && config.adminToken !== undefined) || (t.name === 'read' && config.readToken !== undefined)
    if (taken) throw new ConfigError(where, `token name "${t.name}" is already taken`)
    names.add(t.name)
    claim(t.token, where)
  })
}

export function hasAdminToken (config: Config): boolean {
  return config.adminToken !== undefined || config.tokens.some((t) => t.role === 'admin')
}

function checkUpstreamUrl (value: string, name: string): void {
  const url = checkUrl(value, name, ['http:', 'https:'], 'http://127.0.0.1:3000')
  if (url.search !== '' || url.hash !== '') throw new ConfigError(name, `"${maskCredentials(value)}" must not have a query string or fragment`)
  if (url.username !== '' || url.password !== '') throw new ConfigError(name, `"${maskCredentials(value)}": credentials in the URL are not supported`)
}

function checkUpstreams (config: Config, nameOf: (key: string) => string, options: CheckOptions): void {
  if (config.upstreams !== undefined) {
    if (config.upstream !== undefined) throw new ConfigError(nameOf('upstreams'), `cannot be given with ${nameOf('upstream')}: name the one upstream in the list instead (default=URL)`)
    for (const { name, url } of namedUpstreams(config, nameOf('upstreams'))) checkUpstreamUrl(url, `${nameOf('upstreams')} (${name})`)
    return
  }
  if (config.upstream === undefined) {
    if (options.requireUpstream) {
      throw new ConfigError(nameOf('upstream'), 'is required: the base URL of the application, e.g. --upstream http://127.0.0.1:3000 or DRAWBRIDGE_UPSTREAM')
    }
    return
  }
  checkUpstreamUrl(config.upstream, nameOf('upstream'))
}

/** The PostgreSQL store: one shared store at a time, with a schema name it accepts. */
function checkStateStore (config: Config, nameOf: (key: string) => string): void {
  if (config.stateUrl !== undefined) {
    checkUrl(config.stateUrl, nameOf('stateUrl'), ['postgres:', 'postgresql:'], 'postgres://drawbridge@127.0.0.1:5432/app (for Redis: --redis-url)')
    if (config.redisUrl !== undefined || config.redis?.sentinels !== undefined || config.redisSentinels !== undefined || config.redisClusterNodes !== undefined || config.redis?.cluster !== undefined) {
      throw new ConfigError(nameOf('stateUrl'), `cannot be given with ${nameOf(config.redisUrl !== undefined ? 'redisUrl' : 'redis')}: the shared state lives in one store, PostgreSQL or Redis`)
    }
    if (config.stateFile !== undefined) {
      throw new ConfigError(nameOf('stateFile'), `is the embedded store's file and cannot be given with ${nameOf('stateUrl')}; for a local copy of the shared state use --state-cache`)
    }
  }
  if (!STATE_SCHEMA_PATTERN.test(config.stateSchema)) {
    throw new ConfigError(nameOf('stateSchema'), `"${config.stateSchema}" is not a schema name the store accepts: lower-case letters, digits and _, not starting with a digit, at most 48 characters`)
  }
}

export function checkConfig (config: Config, nameOf: (key: string) => string, options: CheckOptions): void {
  checkUpstreams(config, nameOf, options)

  checkAddress(config.listen, nameOf('listen'), '0.0.0.0:8080')
  checkAddress(config.adminListen, nameOf('adminListen'), '127.0.0.1:9090')
  const gateway = parseHostPort(config.listen)
  const admin = parseHostPort(config.adminListen)
  if (gateway !== null && admin !== null && admin.port !== 0 && admin.port === gateway.port &&
    (admin.host === gateway.host || gateway.host === '0.0.0.0' || gateway.host === '::')) {
    throw new ConfigError(nameOf('adminListen'), `${config.adminListen} overlaps the gateway address ${config.listen}; the admin API needs its own port`)
  }

  config.trustedProxies.forEach((cidr) => {
    try {
      parseCidr(cidr)
    } catch (err) {
      if (err instanceof CidrError) throw new ConfigError(nameOf('trustedProxies'), err.message)
      throw err
    }
  })

  for (const origin of config.corsOrigins) {
    if (origin === '*') continue
    let parsed: URL | null = null
    try { parsed = new URL(origin) } catch {}
    // An origin is scheme://host[:port] exactly as a browser sends it: no path, no trailing slash.
    if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.origin !== origin) {
      throw new ConfigError(nameOf('corsOrigins'), `"${origin}" is not an origin (expected e.g. https://app.example.com, without a path or trailing slash; * for any)`)
    }
  }

  if (config.redisUrl !== undefined) checkUrl(config.redisUrl, nameOf('redisUrl'), ['redis:', 'rediss:'], 'redis://127.0.0.1:6379')
  checkStateStore(config, nameOf)
  if (config.databaseUrl !== undefined) checkUrl(config.databaseUrl, nameOf('databaseUrl'), ['postgres:', 'postgresql:'], 'postgres://user@127.0.0.1:5432/app')
  if (config.rehearsalDatabaseUrl !== undefined) checkUrl(config.rehearsalDatabaseUrl, nameOf('rehearsalDatabaseUrl'), ['postgres:', 'postgresql:'], 'postgres://user@127.0.0.1:5432/postgres')
  if (config.publicUrl !== undefined) checkUrl(config.publicUrl, nameOf('publicUrl'), ['http:', 'https:'], 'https://www.example.com')
  if (config.adminUrl !== undefined) checkUrl(config.adminUrl, nameOf('adminUrl'), ['http:', 'https:'], 'http://127.0.0.1:9090')

  checkTokens(config, nameOf)
  if (!hasAdminToken(config) && (config.readToken !== undefined || config.tokens.length > 0)) {
    // A read token alone would lock every write away with no way to unlock it.
    throw new ConfigError(nameOf(config.readToken !== undefined ? 'readToken' : 'tokens'), 'needs an admin token too (--admin-token, DRAWBRIDGE_ADMIN_TOKEN, or a named token with role admin)')
  }
  if (admin !== null && !isLoopbackHost(admin.host) && !hasAdminToken(config)) {
    throw new ConfigError(nameOf('adminListen'),
      `${config.adminListen} is not a loopback address, so the admin API needs a token: set --admin-token (or DRAWBRIDGE_ADMIN_TOKEN), or listen on 127.0.0.1`)
  }

  if (config.page !== undefined) {
    try {
      accessSync(config.page, constants.R_OK)
    } catch {
      throw new ConfigError(nameOf('page'), `cannot read the page template ${config.page}`)
    }
  }
}
