import { MAX_JSON_DEPTH, nestsDeeperThan } from '../input/json-depth.js'
import type { EvaluationContext } from './evaluate.js'

/**
 * Reading an OFREP request body (`{"context": {...}}`) into an evaluation
 * context, with the protocol's error codes instead of the admin API's 400s.
 */

/**
 * Bounds on what one evaluation may cost. The read token is the one browsers
 * hold, and evaluation runs on the event loop the gateway shares: a 3.9 MB
 * targeting key hashed for 200 rollout flags stalled the gateway 4.5 s. Real
 * contexts are a few hundred bytes (a user id, a handful of attributes), so
 * 64 KiB per body and 1 KiB per targeting key leave room for any real one and
 * keep a bulk evaluation of a thousand flags within milliseconds.
 */
export const MAX_CONTEXT_BYTES = 64 * 1024
export const MAX_TARGETING_KEY_LENGTH = 1024

/** Marks a body that was not valid JSON; the OFREP routes answer PARSE_ERROR. */
export const UNPARSEABLE = Symbol('unparseable body')

export type OfrepErrorCode = 'PARSE_ERROR' | 'INVALID_CONTEXT' | 'TARGETING_KEY_MISSING' | 'FLAG_NOT_FOUND' | 'GENERAL'

export type ContextResult =
  | { ok: true, context: EvaluationContext, raw: Record<string, unknown> }
  | { ok: false, errorCode: 'PARSE_ERROR' | 'INVALID_CONTEXT', errorDetails: string }

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

export function readOfrepBody (body: unknown): ContextResult {
  if (body === UNPARSEABLE) return { ok: false, errorCode: 'PARSE_ERROR', errorDetails: 'request body is not valid JSON' }
  if (body === undefined || body === null || body === '') return { ok: true, context: { targetingKey: undefined, attributes: {} }, raw: {} }
  if (!isPlainObject(body)) return { ok: false, errorCode: 'PARSE_ERROR', errorDetails: 'request body must be a JSON object like {"context": {...}}' }
  const context = body.context
  if (context === undefined || context === null) return { ok: true, context: { targetingKey: undefined, attributes: {} }, raw: {} }
  if (!isPlainObject(context)) return { ok: false, errorCode: 'INVALID_CONTEXT', errorDetails: 'context must be an object' }
  // canonicalJson (the bulk ETag) recurses: a context a million arrays deep would overflow the stack.
  if (nestsDeeperThan(context, MAX_JSON_DEPTH)) return { ok: false, errorCode: 'INVALID_CONTEXT', errorDetails: `context must not nest deeper than ${MAX_JSON_DEPTH} levels` }
  const key = context.targetingKey
  if (key !== undefined && key !== null && typeof key !== 'string') {
    return { ok: false, errorCode: 'INVALID_CONTEXT', errorDetails: 'context.targetingKey must be a string' }
  }
  if (typeof key === 'string' && key.length > MAX_TARGETING_KEY_LENGTH) {
    return { ok: false, errorCode: 'INVALID_CONTEXT', errorDetails: `context.targetingKey must be at most ${MAX_TARGETING_KEY_LENGTH} characters` }
  }
  return {
    ok: true,
    // An empty targeting key identifies no one: treat it as missing rather than bucketing every anonymous caller together.
    context: { targetingKey: typeof key === 'string' && key !== '' ? key : undefined, attributes: context },
    raw: context
  }
}

/** JSON with object keys sorted at every level, so equal contexts give equal ETags whatever the key order. */
export function canonicalJson (value: unknown): string {
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']'
  if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort()
    return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(value[k])).join(',') + '}'
  }
  return JSON.stringify(value) ?? 'null'
}
