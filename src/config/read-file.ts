import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { createRequire } from 'node:module'
import { ConfigError } from '../errors.js'

/**
 * Reads a YAML or JSON config file into a plain object. `source` is how the
 * user named the file (`--config` or `DRAWBRIDGE_CONFIG`), so errors point at it.
 */
/**
 * yaml is loaded only for a YAML file: it costs ~9 MB of idle RSS, and a
 * gateway started with flags, environment or a JSON file never needs it.
 * (require, not import(): config loading is synchronous, before anything listens.)
 */
function parseYaml (text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml')
  return yaml.parse(text, { prettyErrors: true })
}

export function readConfigFile (path: string, source: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message
    throw new ConfigError(source, `cannot read ${path}: ${why}`)
  }
  let value: unknown
  try {
    // YAML is a superset of JSON, but JSON.parse gives JSON files their usual error messages.
    value = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text)
  } catch (err) {
    const firstLine = (err as Error).message.split('\n')[0] ?? 'parse error'
    throw new ConfigError(source, `${path} is not valid ${extname(path).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${firstLine}`)
  }
  if (value === null || value === undefined) return {}
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(source, `${path} must contain a mapping of settings, not ${Array.isArray(value) ? 'a list' : typeof value}`)
  }
  return value as Record<string, unknown>
}
