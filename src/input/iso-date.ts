/**
 * Strict ISO 8601 date-times, as the admin API accepts and stores them.
 * `Date.parse` alone rolls impossible dates over (`2026-02-30` becomes
 * March 2nd) and reads only four-digit years, while `toISOString` writes
 * years past 9999 in the extended form (`+010000-01-01T00:00:00.000Z`); so
 * the fields are checked one by one, and both year forms are read, so that
 * every date the API stores is one it accepts back.
 */

const ISO_DATE_TIME = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i

function daysIn (year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/**
 * Epoch milliseconds of a real calendar date-time with a timezone, or null
 * when the text is not one (wrong form, a day the month does not have, an
 * hour past 23, a year `-000000`, a time JavaScript dates cannot hold).
 */
export function parseIsoDateTime (text: string): number | null {
  const m = ISO_DATE_TIME.exec(text)
  if (m === null) return null
  const [, y, mo, d, h, mi, s, , zone] = m as unknown as [string, string, string, string, string, string, string | undefined, string | undefined, string]
  if (y === '-000000') return null
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null
  if (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 59)) return null
  if (zone.toUpperCase() !== 'Z') {
    const digits = zone.replace(':', '')
    if (Number(digits.slice(1, 3)) > 23 || Number(digits.slice(3, 5)) > 59) return null
  }
  const ms = Date.parse(text.toUpperCase())
  return Number.isNaN(ms) ? null : ms
}
