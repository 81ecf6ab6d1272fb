import { createRequire } from 'node:module'
import type * as TypeBox from '@sinclair/typebox'
import type * as TypeBoxErrors from '@sinclair/typebox/errors'
import { registerFormats } from './formats.js'
import type { SchemaData } from './schema-defaults.js'

export type { ValueError } from '@sinclair/typebox/errors'

const require = createRequire(import.meta.url)
let loaded: typeof TypeBoxErrors | undefined

/**
 * TypeBox's error walker, loaded on the first document that fails a
 * build-time check (a bad config, a bad state): a valid start never loads
 * TypeBox (about 2 MB of an idle gateway's RSS). The same CommonJS copy as
 * input/typebox.ts, so the formats are registered once for both.
 */
export function typeboxErrors (): typeof TypeBoxErrors {
  if (loaded === undefined) {
    registerFormats((require('@sinclair/typebox') as typeof TypeBox).FormatRegistry)
    loaded = require('@sinclair/typebox/errors') as typeof TypeBoxErrors
  }
  return loaded
}

/** The first reason `value` does not match `schema` (a generated schema constant), or undefined. */
export function firstSchemaError (schema: SchemaData, value: unknown): TypeBoxErrors.ValueError | undefined {
  return typeboxErrors().Errors(schema as unknown as TypeBox.TSchema, value).First()
}
