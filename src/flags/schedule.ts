import { errors } from '../errors.js'
import { parseIsoDateTime } from '../input/iso-date.js'
import type { Flag, FlagScheduleStep } from '../state/types.js'

/**
 * Scheduled ramps: a flag's `enabled` and rollout percentage as a function of
 * the clock. Every replica computes the same answer for the same instant from
 * the same state, as maintenance windows do, so nothing has to fire: a step is
 * in force from its `at` until the next one.
 */

/** What a flag serves at one instant: its own fields, overlaid by every step that has begun. */
export interface ScheduledState {
  enabled: boolean
  /** Rollout percentage, or null for no rollout. */
  percentage: number | null
  /** Index of the step in force, or -1 before the first. */
  step: number
  /** Epoch ms of the next step, or null after the last. */
  nextAt: number | null
}

export const MAX_SCHEDULE_STEPS = 50

export function scheduledState (flag: Pick<Flag, 'enabled' | 'rollout' | 'schedule'>, now: number): ScheduledState {
  let enabled = flag.enabled
  let percentage = flag.rollout === null ? null : flag.rollout.percentage
  let step = -1
  let nextAt: number | null = null
  const steps = flag.schedule ?? []
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i] as FlagScheduleStep
    const at = Date.parse(s.at)
    if (at > now) { nextAt = at; break }
    if (s.enabled !== undefined) enabled = s.enabled
    if (s.percentage !== undefined) percentage = s.percentage
    step = i
  }
  return { enabled, percentage, step, nextAt }
}

function invalid (message: string): Error {
  return new errors.DRAWBRIDGE_ERR_INVALID(message)
}

/** Dates normalised to ISO UTC; steps in strictly increasing time, each changing something. */
export function normalizeSchedule (steps: FlagScheduleStep[] | null): FlagScheduleStep[] | null {
  if (steps === null || steps.length === 0) return null
  let previous = -Infinity
  return steps.map((s, i) => {
    const at = `body/schedule/${i}`
    const ms = parseIsoDateTime(s.at)
    if (ms === null) throw invalid(`${at}/at must be an ISO 8601 date-time with a timezone, e.g. 2026-12-01T09:00:00Z (got ${JSON.stringify(s.at)})`)
    if (ms <= previous) throw invalid(`${at}/at must be later than the step before it (steps are listed in time order)`)
    previous = ms
    if (s.enabled === undefined && s.percentage === undefined) throw invalid(`${at} must set percentage, enabled or both`)
    const out: FlagScheduleStep = { at: new Date(ms).toISOString() }
    if (s.percentage !== undefined) out.percentage = s.percentage
    if (s.enabled !== undefined) out.enabled = s.enabled
    return out
  })
}

/**
 * `schedule: null` in a PATCH stops the ramp where it is: the values in force
 * now become the flag's own, unless the same PATCH sets them itself.
 */
export function stopSchedule (flag: Flag, now: number, keep: { enabled: boolean, rollout: boolean }): Flag {
  const current = scheduledState(flag, now)
  const next: Flag = { ...flag, schedule: null }
  if (!keep.enabled) next.enabled = current.enabled
  if (!keep.rollout) {
    next.rollout = current.percentage === null
      ? null
      : { ...flag.rollout, percentage: current.percentage }
  }
  return next
}
