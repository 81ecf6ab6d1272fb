import t from 'tap'
import type { DrawbridgeEvent } from '../../src/events.js'
import { eventText } from '../../src/webhooks/event-text.js'
import { checkWebhooks, subscribes } from '../../src/webhooks/start-webhooks.js'

const text = (event: DrawbridgeEvent, data: Record<string, unknown>, actor = 'alice'): string =>
  eventText({ event, at: '2026-11-21T22:00:00.000Z', actor, data })

t.test('maintenance sentences', async (t) => {
  t.equal(text('maintenance.enabled', { maintenance: { message: null, endsAt: null, mode: 'full' } }), ':construction: Maintenance is ON (by alice).')
  t.equal(text('maintenance.enabled', { maintenance: { message: 'Upgrading', endsAt: null, mode: 'read-only', paths: ['/checkout'] } }),
    ':construction: Maintenance is ON on `/checkout` (by alice): "Upgrading". Read-only: reads still pass.')
  t.equal(text('maintenance.scheduled', { maintenance: { startsAt: '2026-11-22T01:00:00Z', endsAt: '2026-11-22T03:00:00Z', message: 'DB' } }),
    ':calendar: Maintenance scheduled from 2026-11-22T01:00:00Z to 2026-11-22T03:00:00Z (by alice): "DB".')
  t.equal(text('maintenance.scheduled', { maintenance: { endsAt: '2026-11-22T03:00:00Z' } }), ':calendar: Maintenance scheduled until 2026-11-22T03:00:00Z (by alice).')
  t.equal(text('maintenance.disabled', { maintenance: {} }, 'deploy-bot'), ':white_check_mark: Maintenance is OFF (by deploy-bot): traffic flows to the application again.')
})

t.test('flag sentences', async (t) => {
  t.equal(text('flag.changed', { action: 'flag.create', key: 'new-checkout', enabled: false }), ':triangular_flag_on_post: Flag `new-checkout` created, now off (by alice).')
  t.equal(text('flag.changed', { action: 'flag.disable', key: 'new-checkout', enabled: false }), ':triangular_flag_on_post: Flag `new-checkout` disabled (by alice).')
  t.equal(text('flag.changed', { action: 'flag.delete', key: 'old', enabled: false, deleted: true }), ':triangular_flag_on_post: Flag `old` deleted (by alice).')
  t.equal(text('flag.changed', { action: 'flag.override.set', key: 'k', userId: 'u42', override: { variant: 'treatment' } }),
    ':triangular_flag_on_post: Flag `k`: override for user `u42` set to `treatment` (by alice).')
  t.equal(text('flag.changed', { action: 'flag.override.delete', key: 'k', userId: 'u42', override: null }),
    ':triangular_flag_on_post: Flag `k`: override for user `u42` removed (by alice).')
})

t.test('migration sentences', async (t) => {
  t.equal(text('migration.started', { runId: 'r1', dryRun: true, migrations: ['002_a', '003_b'] }), ':hourglass_flowing_sand: Migration run r1 (dry run) started (by alice): 002_a, 003_b.')
  t.equal(text('migration.succeeded', { runId: 'r1', dryRun: false, migrations: ['002_a'] }), ':white_check_mark: Migration run r1 succeeded (by alice): 002_a.')
  t.equal(text('migration.failed', { runId: 'r1', error: 'column "x" <does not exist>', migration: '003_b' }),
    ':x: Migration run r1 failed (by alice) at 003_b: column "x" &lt;does not exist&gt;.')
  t.equal(text('migration.failed', { runId: 'r2', reason: 'dangerous', migrations: ['004_drop'] }), ':x: Migration run r2 failed (by alice): 004_drop: dangerous.')
})

t.test('event filters', async (t) => {
  t.ok(subscribes(['*'], 'flag.changed'))
  t.ok(subscribes(['maintenance.*'], 'maintenance.scheduled'))
  t.notOk(subscribes(['maintenance.*'], 'migration.started'))
  t.ok(subscribes(['migration.failed'], 'migration.failed'))
  t.notOk(subscribes([], 'migration.failed'))
})

t.test('webhook config that cannot work is refused at startup', async (t) => {
  t.throws(() => { checkWebhooks([{ url: 'https://x.example', events: ['maintenance.enable'] }]) }, { name: 'ConfigError', setting: 'webhooks[0].events' })
  t.throws(() => { checkWebhooks([{ url: 'ftp://x.example', events: ['*'] }]) }, { name: 'ConfigError', setting: 'webhooks[0].url' })
  t.doesNotThrow(() => { checkWebhooks([{ url: 'https://x.example', events: ['*', 'migration.*', 'flag.changed'] }]) })
})
