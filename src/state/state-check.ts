import { errors } from '../errors.js'
import { redirectProblem } from '../input/redirect-target.js'
import { hasControlChars } from '../input/safe-text.js'
import { firstSchemaError } from '../input/schema-errors.js'
import { isSharedStateShape, SHARED_STATE_SCHEMA } from './state-shape.generated.js'
import type { SharedState } from './types.js'

/**
 * Whether a state document may be compiled and served: its shape
 * (state-schema.ts, checked with the check generated from it) and what the
 * shape cannot say.
 */

/** `/maintenance/redirect` → `state.maintenance.redirect`. */
function field (pointer: string): string {
  return 'state' + pointer.split('/').slice(1).map((p) => `.${p.replace(/~1/g, '/').replace(/~0/g, '~')}`).join('')
}

/** What the shape cannot say: values that would reach a header or a path rule. */
function meaningProblem (state: SharedState): string | null {
  const m = state.maintenance
  if (m.redirect !== null) {
    const problem = redirectProblem(m.redirect)
    if (problem !== null) return `state.maintenance.redirect ${problem}`
  }
  for (const [name, list] of [['exceptPaths', m.exceptPaths], ['paths', m.paths ?? []]] as const) {
    const i = list.findIndex((p) => hasControlChars(p))
    if (i >= 0) return `state.maintenance.${name}.${i} contains control characters`
  }
  if (m.secret !== null && !/^[A-Za-z0-9._~-]*$/.test(m.secret)) return 'state.maintenance.secret has characters a URL path cannot carry'
  if (state.progress !== undefined && state.progress !== null && state.progress.step > state.progress.of) return `state.progress.step ${state.progress.step} is past its last step (${state.progress.of})`
  for (const key of Object.keys(state.flags)) {
    const flag = state.flags[key] as SharedState['flags'][string]
    if (flag.key !== key) return `state.flags.${key}.key is "${flag.key}", not its own key`
    const i = flag.gate?.paths.findIndex((p) => hasControlChars(p)) ?? -1
    if (i >= 0) return `state.flags.${key}.gate.paths.${i} contains control characters`
  }
  return null
}

/**
 * Null when `state` can be compiled and served, else the first problem, naming
 * the field (`state.maintenance.redirect must be ...`).
 */
export function stateProblem (state: unknown): string | null {
  if (!isSharedStateShape(state)) {
    const first = firstSchemaError(SHARED_STATE_SCHEMA, state)
    return first === undefined ? 'state is invalid' : `${field(first.path)} ${first.message.toLowerCase()}`
  }
  return meaningProblem(state as SharedState)
}

/** States a store committed after checking them: the next write need not check its `current` again (~10 ms for a 100k-entry allowlist). */
const checkedGood = new WeakSet<SharedState>()

/**
 * Guards a store write: a change may not turn a good state into one this
 * process would refuse to serve (the edge checks should have caught it; this
 * keeps a gap in them from reaching every replica). A state that is already
 * bad may be written, so operators can repair it one change at a time.
 */
export function checkWritable (current: SharedState, next: SharedState): void {
  const problem = stateProblem(next)
  if (problem === null) {
    checkedGood.add(next)
    return
  }
  if (!checkedGood.has(current) && stateProblem(current) !== null) return
  throw new errors.DRAWBRIDGE_ERR_INVALID(`the change would leave an invalid state: ${problem}`)
}
