import type { CompiledFlags, Evaluation, Reason } from './compile.js'
import { answeringGate, evaluateAll } from './request-flags.js'

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
  /** What X-Drawbridge-Flags would carry ('' when a gate answers). */
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
 * its gated paths) and the header the upstream would get, within
 * `flagsHeaderMaxBytes`. The gateway's own functions (request-flags.ts), so the
 * two agree by construction; unlike the gateway it marks no usage: a question
 * is not a served answer.
 */
export function explainFlags (table: CompiledFlags | null, request: FlagsRequest, now: number, headerMaxBytes: number): FlagsExplanation {
  const identity = request.identity ?? null
  if (table === null) return { identity, header: '', gate: null, flags: [] }
  const attributes = { ip: request.ip, path: request.path, method: request.method, host: request.host }
  const answer = evaluateAll(table.list, { targetingKey: request.identity, attributes, now }, now, headerMaxBytes, () => {}, false)
  const gate = answeringGate(table.gates, answer.results, request.path)
  return {
    identity,
    // A gate answers instead of the upstream: no header is sent.
    header: gate === null ? answer.header : '',
    gate: gate === null ? null : { flag: gate.key, status: gate.status },
    flags: table.list.map((cf, i) => {
      const ev = answer.results[i] as Evaluation
      return { key: cf.key, value: ev.value, variant: ev.variant, reason: ev.reason }
    })
  }
}
