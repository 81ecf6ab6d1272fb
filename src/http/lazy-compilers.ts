import { createRequire } from 'node:module'
import type { FastifyServerOptions } from 'fastify'

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>
/** Fastify's factory shape, (external schemas, options) → (route) → compiled; its declared types are unions of ajv's and JTD's. */
type Factory<Compiled> = (externalSchemas: unknown, options: unknown) => (route: unknown) => Compiled
type Serializer = (data: unknown) => string

/**
 * Fastify's own schema compilers (ajv through @fastify/ajv-compiler, and
 * fast-json-stringify), loaded on the first schema a route compiles instead
 * of when an instance is created. An instance given no factories requires
 * both at once (fastify/lib/schema-controller.js): about 100 modules that an
 * idle gateway, whose ports compile no schema until an operator calls the
 * admin API, never runs. Required from Fastify's own dependencies, so these
 * are the very compilers Fastify would have used.
 */
const requireFromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'))

const lazyValidatorFactory: Factory<unknown> = (externalSchemas, options) => {
  let compile: ((route: unknown) => unknown) | undefined
  return (route) => {
    compile ??= (requireFromFastify('@fastify/ajv-compiler') as () => Factory<unknown>)()(externalSchemas, options)
    return compile(route)
  }
}

/**
 * Each response schema is compiled on its route's first answer, not when the
 * route is registered: the admin API is built while the gateway serves
 * (admin/lazy-admin.ts), and compiling all its serializers at once held the
 * event loop. One route's serializer is a millisecond or two, paid once.
 */
const lazySerializerFactory: Factory<Serializer> = (externalSchemas, options) => {
  let compile: ((route: unknown) => Serializer) | undefined
  return (route) => {
    let serialize: Serializer | undefined
    return (data) => {
      compile ??= (requireFromFastify('@fastify/fast-json-stringify-compiler') as { SerializerSelector: () => Factory<Serializer> }).SerializerSelector()(externalSchemas, options)
      return (serialize ??= compile(route))(data)
    }
  }
}

/** For `Fastify({ schemaController })`. */
export const LAZY_SCHEMA_CONTROLLER: SchemaController = {
  compilersFactory: {
    buildValidator: lazyValidatorFactory as NonNullable<SchemaController['compilersFactory']>['buildValidator'],
    buildSerializer: lazySerializerFactory as NonNullable<SchemaController['compilersFactory']>['buildSerializer']
  }
}
