import t from 'tap'
import { compileMaintenance, EMPTY_TEMPLATE } from '../../src/maintenance/compile.js'
import { decide } from '../../src/maintenance/decide.js'
import { MAX_RETRY_AFTER } from '../../src/maintenance/retry-after.js'
import { defaultMaintenance, type MaintenanceState } from '../../src/state/types.js'

// Issue 15 class 4: endsAt in year 9999 gave Retry-After: 251606137806.
const NOW = Date.parse('2026-11-22T02:00:00Z')

function compile (patch: Partial<MaintenanceState>) {
  return compileMaintenance({ ...defaultMaintenance(), enabled: true, ...patch }, { signingKey: 'k'.repeat(32), template: EMPTY_TEMPLATE, cookieTtlSeconds: 43200 })
}

t.test('a countdown to a far endsAt is clamped to the API\'s one-year cap', async (t) => {
  for (const endsAt of ['9999-12-31T23:59:59.000Z', '+275760-09-13T00:00:00.000Z']) {
    const c = compile({ endsAt })
    t.equal(c.retryAfterAt(NOW), MAX_RETRY_AFTER, endsAt)
    t.match(decide({ method: 'GET', path: '/', ip: '203.0.113.9', bypassCookie: undefined, bypassHeader: undefined }, c, NOW), { action: 'block', retryAfter: MAX_RETRY_AFTER })
    const json = c.responses(NOW)
    t.match(JSON.stringify(json), new RegExp(`"${MAX_RETRY_AFTER}"|${MAX_RETRY_AFTER}`), 'the rendered answer carries the clamped value')
  }
  t.equal(compile({ endsAt: '2026-11-22T02:05:00Z' }).retryAfterAt(NOW), 300, 'a near endsAt is the real countdown')
})

t.test('a stored retryAfter above the cap (an older writer) is clamped too', async (t) => {
  t.equal(compile({ retryAfter: 99_999_999_999 }).retryAfterAt(NOW), MAX_RETRY_AFTER)
})
