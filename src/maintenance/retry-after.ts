/**
 * The longest Retry-After the gateway sends, in seconds: one year, the same
 * cap the admin API puts on `retryAfter`. A countdown to a far `endsAt`
 * (year 9999) would otherwise give a number above int32 that clients and
 * proxies overflow on.
 */
export const MAX_RETRY_AFTER = 31_536_000

export function clampRetryAfter (seconds: number): number {
  return seconds > MAX_RETRY_AFTER ? MAX_RETRY_AFTER : seconds
}
