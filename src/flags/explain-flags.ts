import { compileBlockMatcher } from '../http/paths.js'
import type { CompiledFlags, Reason } from './compile.js'
import { evaluateFlag } from './evaluate.js'

/** One flag as the gateway would evaluate it for a described request. */
export interface FlagExplanation {
  key: string
  value: boolean
  variant: string | null
  /** OFREP's reason: PREREQUISITE_FAILED when a prerequisite decided, SPLIT for a rollout, … */
  reason: Reason
}

export interface FlagsExplanation {
  /** The targeting key read from the request, as the gateway reads it (flagsIdentity). */
  identity: string | null
  /** What X-Drawbridge-Flags would carry (before its byte budget). */
  header: string
  /** The first gate that answers for this path, in key order, as the gateway checks them. */
  gate: { flag: string, status: number } | null
  flags: FlagExplanation[]
}

export interface FlagsRequest {
  identity: string | undefined
  /** The normalised path the gateway decided on. */
  path: string
  method: string
  ip: string
  host: string | undefined
}

/**
 * The flags part of `POST /v1/explain`: every flag evaluated for the request's
 * identity and attributes at `now`, the gate that would answer (a flag off on
 * its gated paths) and the header the upstream would get. The same evaluation
 * and gate matchers as the gateway (request-flags.ts); unlike the gateway it
 * marks no usage: a question is not a served answer.
 */
export function explainFlags (table: CompiledFlags | null, request: FlagsRequest, now: number): FlagsExplanation {
  const out: FlagsExplanation = { identity: request.identity ?? null, header: '', gate: null, flags: [] }
  if (table === null) return out
  const attributes = { ip: request.ip, path: request.path, method: request.method, host: request.host }
  const on: string[] = []
  for (const cf of table.list) {
    const ev = evaluateFlag(cf, { targetingKey: request.identity, attributes, now })
    out.flags.push({ key: cf.key, value: ev.value, variant: ev.variant, reason: ev.reason })
    if (ev.value) on.push(ev.variant === null ? cf.key : `${cf.key}=${ev.variant}`)
    else if (out.gate === null && cf.gate !== null && compileBlockMatcher(cf.gate.paths)(request.path)) out.gate = { flag: cf.key, status: cf.gate.status }
  }
  out.header = on.join(',')
  return out
}
