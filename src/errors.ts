import createError from '@fastify/error'
import { maskCredentials } from './input/mask-credentials.js'

/**
 * Every error an API client can see, in one place. The key is the `code` the
 * client receives; test/errors.test.ts keeps this registry and docs honest.
 */
export const errors = {
  DRAWBRIDGE_ERR_UNAUTHORIZED: createError('DRAWBRIDGE_ERR_UNAUTHORIZED', 'Missing or invalid bearer token', 401),
  DRAWBRIDGE_ERR_FORBIDDEN: createError('DRAWBRIDGE_ERR_FORBIDDEN', 'This token may not %s', 403),
  DRAWBRIDGE_ERR_CROSS_SITE: createError('DRAWBRIDGE_ERR_CROSS_SITE', 'Cross-site request refused: %s', 403),
  DRAWBRIDGE_ERR_INVALID: createError('DRAWBRIDGE_ERR_INVALID', '%s', 400),
  DRAWBRIDGE_ERR_NOT_FOUND: createError('DRAWBRIDGE_ERR_NOT_FOUND', '%s', 404),
  DRAWBRIDGE_ERR_CONFLICT: createError('DRAWBRIDGE_ERR_CONFLICT', '%s', 409),
  DRAWBRIDGE_ERR_PRECONDITION_FAILED: createError('DRAWBRIDGE_ERR_PRECONDITION_FAILED', '%s', 412),
  DRAWBRIDGE_ERR_TOO_LARGE: createError('DRAWBRIDGE_ERR_TOO_LARGE', '%s', 413),
  DRAWBRIDGE_ERR_STORE_UNAVAILABLE: createError('DRAWBRIDGE_ERR_STORE_UNAVAILABLE', 'State store unavailable: %s', 503),
  DRAWBRIDGE_ERR_FLAG_REQUIRES_MIGRATION: createError('DRAWBRIDGE_ERR_FLAG_REQUIRES_MIGRATION', 'Flag %s requires migration %s, which is not applied', 409),
  DRAWBRIDGE_ERR_MIGRATION_LOCKED: createError('DRAWBRIDGE_ERR_MIGRATION_LOCKED', 'Another migration run holds the lock', 409),
  DRAWBRIDGE_ERR_MIGRATION_DRIFT: createError('DRAWBRIDGE_ERR_MIGRATION_DRIFT', 'Applied migrations changed on disk: %s', 409),
  DRAWBRIDGE_ERR_MIGRATION_DANGEROUS: createError('DRAWBRIDGE_ERR_MIGRATION_DANGEROUS', 'High-severity findings in %s; pass allowDangerous or mark the file -- drawbridge:maintenance', 409),
  DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED: createError('DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED', 'The migration run was interrupted: %s', 503),
  DRAWBRIDGE_ERR_REHEARSAL_BUSY: createError('DRAWBRIDGE_ERR_REHEARSAL_BUSY', 'A rehearsal is already running: %s', 409),
  DRAWBRIDGE_ERR_REHEARSAL_REQUIRED: createError('DRAWBRIDGE_ERR_REHEARSAL_REQUIRED', 'No recent successful rehearsal of these migrations: %s', 409),
  DRAWBRIDGE_ERR_DATABASE: createError('DRAWBRIDGE_ERR_DATABASE', 'Database: %s', 503),
  DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY: createError('DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY', 'Upstream %s failed its health check: %s', 409),
  DRAWBRIDGE_ERR_NOT_CONFIGURED: createError('DRAWBRIDGE_ERR_NOT_CONFIGURED', '%s is not configured', 501),
  DRAWBRIDGE_ERR_INTERNAL: createError('DRAWBRIDGE_ERR_INTERNAL', 'Internal Server Error', 500)
} as const

export type ErrorCode = keyof typeof errors

export function isErrorCode (code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(errors, code)
}

/** True for an error from the registry: it already carries the status and code a client should see. */
export function isDrawbridgeError (err: unknown): err is Error & { code: ErrorCode, statusCode: number } {
  return err instanceof Error && isErrorCode((err as { code?: unknown }).code)
}

/** A bad setting: the process prints one line naming it and exits 2. */
export class ConfigError extends Error {
  readonly setting: string
  constructor (setting: string, problem: string) {
    // A mistyped DRAWBRIDGE_DATABASE_URL is echoed to help fix it, never with its password.
    super(maskCredentials(`${setting}: ${problem}`))
    this.name = 'ConfigError'
    this.setting = setting
  }
}
