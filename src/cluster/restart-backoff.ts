/**
 * How long the primary waits before restarting a worker that died: 1 s,
 * doubling to 30 s while it keeps dying young, back to 1 s once a worker
 * stayed up a minute. A crash loop then costs a fork every 30 s, not a CPU.
 */
export const RESTART_BACKOFF = { initialMs: 1000, maxMs: 30_000, stableMs: 60_000 } as const

/** `previousMs`: the delay before the last restart (null if none); `uptimeMs`: how long the worker that just died ran. */
export function nextRestartDelay (previousMs: number | null, uptimeMs: number, policy = RESTART_BACKOFF): number {
  if (previousMs === null || uptimeMs >= policy.stableMs) return policy.initialMs
  return Math.min(previousMs * 2, policy.maxMs)
}
