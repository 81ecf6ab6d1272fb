import { createRequire } from 'node:module'
import type * as TypeBox from '@sinclair/typebox'
import type * as TypeBoxCompiler from '@sinclair/typebox/compiler'
import type * as TypeBoxErrors from '@sinclair/typebox/errors'
import type * as TypeBoxValue from '@sinclair/typebox/value'
import { registerFormats } from './formats.js'

/**
 * TypeBox, loaded through its CommonJS build, by the schema modules: the
 * admin API's routes and the build-time generator (a starting gateway checks
 * config and state with the checks it generated, and loads TypeBox only to
 * explain a failure: input/schema-errors.ts). Its ES module build is 249 modules,
 * and loaded that way a process holds about 4 MB more RSS and 3.5 MB more heap
 * (Node 20, three entry points: 56.1 MB RSS / 10.0 MB heap as ES modules
 * against 51.8 / 6.6 through require). Every part of Drawbridge imports it
 * from here, so there is one copy: FormatRegistry is shared state between the
 * formats config/load.ts registers and the compiler that checks them.
 */
const require = createRequire(import.meta.url)

export const { Type, FormatRegistry } = require('@sinclair/typebox') as typeof TypeBox
export const { TypeCompiler } = require('@sinclair/typebox/compiler') as typeof TypeBoxCompiler
export const { ValueErrorType } = require('@sinclair/typebox/errors') as typeof TypeBoxErrors
export const { Value } = require('@sinclair/typebox/value') as typeof TypeBoxValue
registerFormats(FormatRegistry)
export type { Static, TSchema, TString } from '@sinclair/typebox'
export type { ValueError } from '@sinclair/typebox/errors'
