import type { TSchema } from '../input/typebox.js'
import { CONFIG_SCHEMA } from './config-shape.generated.js'

/**
 * How each setting can be spelled, derived from the schema so that adding a
 * property there is all it takes to get its flag, env variable and file key.
 */

export type SettingKind = 'string' | 'integer' | 'number' | 'list' | 'file-only'

export interface Setting {
  /** Key in the config object and the config file: `adminListen`. */
  key: string
  /** `--admin-listen` */
  flag: string
  /** `DRAWBRIDGE_ADMIN_LISTEN` */
  env: string
  /** How a flag/env string becomes a value; file-only settings have no flag or env. */
  kind: SettingKind
}

export const ENV_PREFIX = 'DRAWBRIDGE_'

export function flagName (key: string): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())
}

export function envName (key: string): string {
  return ENV_PREFIX + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase()
}

function kindOf (schema: TSchema): SettingKind {
  switch (schema.type) {
    case 'string': return 'string'
    case 'integer': return 'integer'
    case 'number': return 'number'
    case 'array': return (schema.items as TSchema | undefined)?.type === 'string' ? 'list' : 'file-only'
    case 'object': return 'file-only'
  }
  // A union of string literals (failPolicy, logLevel) is given as a plain string,
  // and so is a union whose flag/env form is a string (upstreams: text or a file mapping).
  const variants = schema.anyOf as TSchema[] | undefined
  if (variants !== undefined && variants.every((v) => typeof v.const === 'string')) return 'string'
  if (variants?.some((v) => v.type === 'string' && v.const === undefined) === true) return 'string'
  return 'file-only'
}

export const SETTINGS: readonly Setting[] = Object.freeze(
  Object.entries(CONFIG_SCHEMA.properties).map(([key, schema]) => Object.freeze({
    key,
    flag: flagName(key),
    env: envName(key),
    kind: kindOf(schema as TSchema)
  }))
)

export const SETTINGS_BY_FLAG: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.flag, s]))
export const SETTINGS_BY_KEY: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s]))
