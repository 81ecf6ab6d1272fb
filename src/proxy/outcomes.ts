import type { DecisionRule } from '../maintenance/types.js'
import type { Metrics } from '../metrics.js'
import { createResponseRecorders, type ResponseRecorder } from './response-metrics.js'

/** What happened to a request: the maintenance rule that decided it, or a flag gate. */
export type Outcome = DecisionRule | 'flag-gate'

/** The `decision` label each outcome is counted under. */
const RULE_ACTION: Record<Outcome, string> = {
  reserved: 'reserved',
  'maintenance-off': 'pass',
  'outside-window': 'pass',
  'outside-paths': 'pass',
  'except-path': 'pass',
  allowlist: 'pass',
  'bypass-cookie': 'pass',
  'bypass-header': 'pass',
  'read-only': 'pass',
  'bypass-url': 'set-bypass',
  redirect: 'redirect',
  maintenance: 'block',
  'bad-target': 'reject',
  'secret-path': 'reject',
  'flag-gate': 'gate'
}

export interface OutcomeMetrics {
  /** `drawbridge_requests_total{decision, rule}`, one child per outcome. */
  counters: Record<Outcome, { inc: (by?: number) => void }>
  /** Status, method and duration recorders, one per outcome's decision. */
  responses: Record<Outcome, ResponseRecorder>
}

/** Metric children bound once, so counting on the request path is a property bump. */
export function createOutcomeMetrics (metrics: Metrics): OutcomeMetrics {
  const counters = {} as OutcomeMetrics['counters']
  const responses = {} as OutcomeMetrics['responses']
  const recorders = createResponseRecorders(metrics, [...new Set(Object.values(RULE_ACTION))])
  for (const rule of Object.keys(RULE_ACTION) as Outcome[]) {
    counters[rule] = metrics.requests.labels({ decision: RULE_ACTION[rule], rule })
    responses[rule] = recorders.get(RULE_ACTION[rule]) as ResponseRecorder
  }
  return { counters, responses }
}
