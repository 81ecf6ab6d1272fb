import type { TSchema } from '../input/typebox.js'
import { withDefaults } from '../input/schema-defaults.js'
import { firstSchemaError, typeboxErrors, type ValueError } from '../input/schema-errors.js'
import { ConfigError } from '../errors.js'
import { checkConfig } from './check.js'
import { readConfigFile } from './read-file.js'
import { CONFIG_SCHEMA, isConfigShape } from './config-shape.generated.js'
import type { Config } from './schema.js'
import { ENV_PREFIX, SETTINGS, SETTINGS_BY_FLAG, SETTINGS_BY_KEY, flagName, type Setting } from './settings.js'
import { ArgvError, splitList, tokenizeArgv, type Argv, type OptionType } from '../input/argv.js'
import { didYouMean } from '../input/suggest.js'

/**
 * Builds the frozen Config: flag beats env beats file beats default. Every
 * problem is a ConfigError naming the setting the way the user gave it, so the
 * one line the CLI prints says exactly what to fix.
 */

export interface LoadOptions {
  /** Default true: `serve` cannot run without an upstream. */
  requireUpstream?: boolean
}

const CONFIG_FLAG = '--config'
const CONFIG_ENV = `${ENV_PREFIX}CONFIG`
const FROM_FILE = Symbol('config file')

/** How each loaded Config's settings were given; read back by settingName(). */
const sources = new WeakMap<Config, ReadonlyMap<string, string>>()

interface Given {
  setting: Setting
  /** `--listen` or `DRAWBRIDGE_LISTEN`. */
  name: string
  raw: string[]
}

/** serve's settings as options of the shared tokenizer; file-only ones are accepted there and refused below, by name. */
const OPTION_TYPES: ReadonlyMap<string, OptionType> = new Map<string, OptionType>([
  [CONFIG_FLAG.slice(2), 'string'],
  ...SETTINGS.map((s): [string, OptionType] => [s.flag.slice(2), s.kind === 'list' ? 'list' : s.kind === 'file-only' ? 'optional-string' : 'string'])
])

function parseFlags (argv: readonly string[]): { configPath: string | undefined, given: Given[] } {
  let parsed: Argv
  try {
    parsed = tokenizeArgv(argv, OPTION_TYPES, 'flag')
  } catch (error) {
    if (error instanceof ArgvError) throw new ConfigError(error.option, error.problem)
    throw error
  }
  const stray = parsed.positionals[0]
  if (stray !== undefined) throw new ConfigError(stray, 'unexpected argument (settings are given as --name value)')
  let configPath: string | undefined
  const given: Given[] = []
  for (const [option, value] of parsed.options) {
    const name = `--${option}`
    if (name === CONFIG_FLAG) {
      if (value === '') throw new ConfigError(name, 'needs a file name')
      configPath = value as string
      continue
    }
    const setting = SETTINGS_BY_FLAG.get(name) as Setting
    if (setting.kind === 'file-only') throw new ConfigError(name, `can only be set in the config file (key "${setting.key}")`)
    given.push({ setting, name, raw: Array.isArray(value) ? value : [value as string] })
  }
  return { configPath, given }
}

function coerce ({ setting, name, raw }: Given): unknown {
  const text = raw[raw.length - 1] as string
  switch (setting.kind) {
    case 'integer':
      if (!/^\s*-?[0-9]+\s*$/.test(text)) throw new ConfigError(name, `must be a whole number, got "${text}"`)
      return Number(text)
    case 'number': {
      const n = Number(text)
      if (text.trim() === '' || !Number.isFinite(n)) throw new ConfigError(name, `must be a number, got "${text}"`)
      return n
    }
    case 'list':
      return raw.flatMap(splitList)
    default:
      return text
  }
}

/** `/tokens/0/token` → `tokens[0].token` */
function dottedPath (pointer: string): string {
  return pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, part) => /^[0-9]+$/.test(part) ? `${out}[${part}]` : out === '' ? part : `${out}.${part}`, '')
}

function describe (error: ValueError): string {
  const s = error.schema
  const { ValueErrorType } = typeboxErrors()
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties: return 'unknown setting'
    case ValueErrorType.ObjectRequiredProperty: return 'is required'
    case ValueErrorType.String: return 'must be a string'
    case ValueErrorType.Integer: return 'must be a whole number'
    case ValueErrorType.Number: return 'must be a number'
    case ValueErrorType.Boolean: return 'must be true or false'
    case ValueErrorType.Array: return 'must be a list'
    case ValueErrorType.Object: return 'must be a mapping'
    case ValueErrorType.StringMinLength: return `must be at least ${String(s.minLength)} characters long`
    case ValueErrorType.StringMaxLength: return `must be at most ${String(s.maxLength)} characters long`
    case ValueErrorType.StringFormat: return `must be a valid ${String(s.format)}`
    case ValueErrorType.StringPattern:
      if (s.pattern === '^(header|cookie):.+$') return `must be header:<name> or cookie:<name>, got "${String(error.value)}"`
      if (String(s.pattern).endsWith(':[0-9]{1,5}$')) return `"${String(error.value)}" is not host:port (expected e.g. 127.0.0.1:9090; IPv6 in brackets: [::1]:9090)`
      return `"${String(error.value)}" has the wrong form`
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum: return `must be at least ${String(s.minimum)}, got ${String(error.value)}`
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum: return `must be at most ${String(s.maximum)}, got ${String(error.value)}`
    case ValueErrorType.ArrayMinItems: return `must list at least ${String(s.minItems)} item(s)`
    case ValueErrorType.Union: {
      const choices = (s.anyOf as TSchema[] | undefined)?.map((v) => v.const).filter((c) => c !== undefined)
      if (choices !== undefined && choices.length > 0) return `must be one of ${choices.join(', ')}, got ${JSON.stringify(error.value)}`
      return error.message
    }
    default: return error.message
  }
}

export function loadConfig (argv: readonly string[], env: NodeJS.ProcessEnv, options: LoadOptions = {}): Config {
  const { configPath: flagConfig, given: fromFlags } = parseFlags(argv)
  const envConfig = env[CONFIG_ENV] === '' ? undefined : env[CONFIG_ENV]
  const configPath = flagConfig ?? envConfig
  const names = new Map<string, string | typeof FROM_FILE>()
  const raw: Record<string, unknown> = {}

  if (configPath !== undefined) {
    const file = readConfigFile(configPath, flagConfig !== undefined ? CONFIG_FLAG : CONFIG_ENV)
    for (const [key, value] of Object.entries(file)) {
      if (!SETTINGS_BY_KEY.has(key)) {
        throw new ConfigError(`${key} (${configPath})`, `unknown setting${didYouMean(key, SETTINGS_BY_KEY.keys())}`)
      }
      raw[key] = value
      names.set(key, FROM_FILE)
    }
  }
  for (const setting of SETTINGS) {
    const value = env[setting.env]
    // An empty variable counts as unset: that is how shells and compose files "remove" one.
    if (setting.kind === 'file-only' || value === undefined || value === '') continue
    raw[setting.key] = coerce({ setting, name: setting.env, raw: [value] })
    names.set(setting.key, setting.env)
  }
  for (const g of fromFlags) {
    raw[g.setting.key] = coerce(g)
    names.set(g.setting.key, g.name)
  }

  const nameOf = (path: string): string => {
    const key = /^[^.[]*/.exec(path)?.[0] ?? path
    const source = names.get(key)
    if (source === FROM_FILE) return `${path} (${configPath ?? ''})`
    return source ?? flagName(key)
  }

  const value = withDefaults(CONFIG_SCHEMA, raw)
  if (!isConfigShape(value)) {
    const first = firstSchemaError(CONFIG_SCHEMA, value)
    throw new ConfigError(first === undefined ? 'config' : nameOf(dottedPath(first.path)), first === undefined ? 'is invalid' : describe(first))
  }
  const config = value

  checkConfig(config, nameOf, { requireUpstream: options.requireUpstream ?? true })

  const frozen = deepFreeze(config)
  sources.set(frozen, new Map(SETTINGS.map((s) => [s.key, nameOf(s.key)])))
  return frozen
}

/**
 * How the user gave a setting of this config (`--listen`, `DRAWBRIDGE_LISTEN`,
 * `listen (drawbridge.yaml)`), for errors found after loading, such as a port
 * already in use. Defaults are named by their flag.
 */
export function settingName (config: Config, key: keyof Config & string): string {
  return sources.get(config)?.get(key) ?? flagName(key)
}

function deepFreeze<T> (value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
