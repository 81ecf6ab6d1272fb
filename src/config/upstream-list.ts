import { ConfigError } from '../errors.js'
import type { Config } from './schema.js'

/**
 * The named upstreams a config gives (CONTRACT section 6): `upstreams` as
 * `blue=URL,green=URL` (flag, env) or a mapping (config file), else `upstream`
 * as the one upstream named `default`. Order is kept: the first is active at
 * first start. URLs are checked by check.ts; this only splits and names.
 */

export interface NamedUpstream {
  name: string
  url: string
}

/** Names of upstreams: what a metric label, a CLI argument and a URL path segment can all carry. */
export const UPSTREAM_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'
export const DEFAULT_UPSTREAM_NAME = 'default'
const NAME = new RegExp(UPSTREAM_NAME_PATTERN)

function fromText (text: string, setting: string): NamedUpstream[] {
  const out: NamedUpstream[] = []
  for (const part of text.split(',')) {
    const entry = part.trim()
    if (entry === '') continue
    const eq = entry.indexOf('=')
    if (eq <= 0) throw new ConfigError(setting, `"${entry}" is not name=URL (expected e.g. blue=http://10.0.0.5:3000,green=http://10.0.0.6:3000)`)
    out.push({ name: entry.slice(0, eq).trim(), url: entry.slice(eq + 1).trim() })
  }
  return out
}

/** Throws ConfigError naming `setting` for an empty list, a bad or repeated name. */
export function namedUpstreams (config: Pick<Config, 'upstream' | 'upstreams'>, setting = '--upstreams'): NamedUpstream[] {
  if (config.upstreams === undefined) return config.upstream === undefined ? [] : [{ name: DEFAULT_UPSTREAM_NAME, url: config.upstream }]
  const list = typeof config.upstreams === 'string'
    ? fromText(config.upstreams, setting)
    : Object.entries(config.upstreams).map(([name, url]) => ({ name, url }))
  if (list.length === 0) throw new ConfigError(setting, 'names no upstream (expected e.g. blue=http://10.0.0.5:3000,green=http://10.0.0.6:3000)')
  const seen = new Set<string>()
  for (const { name } of list) {
    if (!NAME.test(name)) throw new ConfigError(setting, `"${name}" is not an upstream name (letters, digits, '.', '_' and '-', at most 63, starting with a letter or digit)`)
    if (seen.has(name)) throw new ConfigError(setting, `names upstream "${name}" twice`)
    seen.add(name)
  }
  return list
}
