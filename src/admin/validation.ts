import { createRequire } from 'node:module'
import type * as AjvModule from 'ajv'
import type { ErrorObject, Options, ValidateFunction } from 'ajv'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'

/**
 * ajv and its formats are required on the first schema compiled, not when
 * the admin port starts: the probes-only app compiles none (health-routes.ts;
 * http/lazy-compilers.ts says what loading them costs an idle gateway).
 * CommonJS packages, so a synchronous require serves the compiler's sync API.
 */
const require = createRequire(import.meta.url)

type SchemaErrorDataVar = 'body' | 'headers' | 'params' | 'querystring'

/**
 * Two ajv instances instead of Fastify's one: query strings are text, so they
 * are coerced (`?limit=10` → 10); bodies are JSON and must already have the
 * right types, so `"retryAfter": "300"` is a 400 rather than silently fixed.
 * `removeAdditional: false` makes unknown fields an error instead of being
 * dropped without a word.
 */
function createAjv (coerceTypes: Options['coerceTypes']): AjvModule.Ajv {
  const { Ajv } = require('ajv') as typeof AjvModule
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false })
  ;(require('ajv-formats') as { default: (ajv: AjvModule.Ajv) => unknown }).default(ajv)
  return ajv
}

/**
 * Compiles each route's schema on its first request, not when the route is
 * registered: the admin API is built while the gateway serves (lazy-admin.ts),
 * and compiling all of its schemas at once held the event loop for ~100 ms.
 * One route's schema is a millisecond or two, paid once.
 */
function compileOnFirstUse (compile: () => ValidateFunction): ValidateFunction {
  let compiled: ValidateFunction | undefined
  const validate = ((data: unknown) => {
    compiled ??= compile()
    const ok = compiled(data)
    validate.errors = compiled.errors
    return ok
  }) as ValidateFunction
  return validate
}

export function createValidatorCompiler (): FastifySchemaCompiler<unknown> {
  let strict: AjvModule.Ajv | undefined
  let coercing: AjvModule.Ajv | undefined
  return ({ schema, httpPart }) => compileOnFirstUse(() => httpPart === 'querystring' || httpPart === 'params'
    ? (coercing ??= createAjv('array')).compile(schema as object)
    : (strict ??= createAjv(false)).compile(schema as object))
}

/** Field-level detail ajv keeps in `params`, appended so the message names it. */
function detail (e: FastifySchemaValidationError): string {
  const params = (e as unknown as ErrorObject).params as Record<string, unknown> | undefined
  if (e.keyword === 'additionalProperties' && typeof params?.additionalProperty === 'string') return `: '${params.additionalProperty}'`
  if ((e.keyword === 'enum' || e.keyword === 'const') && params !== undefined) {
    const allowed = params.allowedValues ?? params.allowedValue
    return `: ${JSON.stringify(allowed)}`
  }
  return ''
}

/**
 * `body/retryAfter must be integer`, `body must NOT have additional properties: 'foo'`.
 * Only the first error: ajv runs with allErrors off (a crafted body cannot make
 * it collect thousands), and one precise line is what a client needs to fix it.
 * Inside an anyOf (a nullable field) the first branch's error is the useful one.
 */
export function formatSchemaErrors (errors: FastifySchemaValidationError[], dataVar: SchemaErrorDataVar): Error {
  const first = errors[0]
  if (first === undefined) return new Error(`${dataVar} is invalid`)
  return new Error(`${dataVar}${first.instancePath} ${first.message ?? 'is invalid'}${detail(first)}`)
}
