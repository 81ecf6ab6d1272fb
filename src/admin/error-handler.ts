import { STATUS_CODES } from 'node:http'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { maskCredentials } from '../input/mask-credentials.js'
import { errors, isErrorCode } from '../errors.js'
import { closeIfBodyUnread } from './close-unread.js'

/** The one error body the admin API answers, whatever went wrong. */
export interface ErrorBody {
  statusCode: number
  error: string
  message: string
  code: string
}

/** Fastify's own 4xx (bad JSON, wrong content type, body too large) get the closest registry code. */
function codeForStatus (statusCode: number): keyof typeof errors {
  switch (statusCode) {
    case 401: return 'DRAWBRIDGE_ERR_UNAUTHORIZED'
    case 403: return 'DRAWBRIDGE_ERR_FORBIDDEN'
    case 404: return 'DRAWBRIDGE_ERR_NOT_FOUND'
    case 409: return 'DRAWBRIDGE_ERR_CONFLICT'
    case 413: return 'DRAWBRIDGE_ERR_TOO_LARGE'
    default: return 'DRAWBRIDGE_ERR_INVALID'
  }
}

export function errorBody (statusCode: number, code: string, message: string): ErrorBody {
  // Driver errors (pg, ioredis) may quote a connection string.
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message: maskCredentials(message), code }
}

export function adminErrorHandler (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  let body: ErrorBody
  if (err.validation !== undefined) {
    body = errorBody(400, 'DRAWBRIDGE_ERR_INVALID', err.message)
  } else {
    const statusCode = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // Name the budget, as every 413 does (docs/errors.md).
      const limit = request.routeOptions.bodyLimit
      body = errorBody(413, 'DRAWBRIDGE_ERR_TOO_LARGE', `Request body is over the ${limit === undefined ? '' : `${limit}-byte `}body limit of ${request.method} ${request.routeOptions.url ?? request.url}`)
    } else if (statusCode < 500) {
      body = errorBody(statusCode, isErrorCode(err.code) ? err.code : codeForStatus(statusCode), err.message)
    } else if (isErrorCode(err.code)) {
      // Our own 5xx (store or database unreachable) carry a message written for operators.
      request.log.warn({ err }, 'admin request failed')
      body = errorBody(statusCode, err.code, err.message)
    } else {
      // Anything else is a bug: log it whole, tell the client nothing about internals.
      request.log.error({ err }, 'admin request crashed')
      body = errorBody(500, 'DRAWBRIDGE_ERR_INTERNAL', 'Internal Server Error')
    }
  }
  if (body.statusCode === 401) reply.header('www-authenticate', 'Bearer realm="drawbridge"')
  closeIfBodyUnread(request, reply)
  void reply.code(body.statusCode).send(body)
}
