import t from 'tap'
import type { AppContext } from '../../src/context.js'
import { DrawbridgeEvents } from '../../src/events.js'
import { Metrics } from '../../src/metrics.js'
import { RunProgress } from '../../src/migrations/run-progress.js'
import { createStore } from '../../src/state/create-store.js'
import { StateHolder } from '../../src/state/state-holder.js'
import { rawRedis, REDIS_URL, silentLogger, testConfig, uniquePrefix, waitForState } from '../state/helpers.js'
import { compileMaintenance } from '../../src/maintenance/compile.js'
import { parseTemplate, renderTemplate } from '../../src/maintenance/page.js'
import { coveredMs, formatDuration, verdict } from '../../src/migrations/rehearsal-verdict.js'
import { decodeState } from '../../src/state/state-codec.js'
import { stateProblem } from '../../src/state/state-check.js'
import { initialState } from '../../src/state/initial-state.js'
import { defaultMaintenance, type MigrationProgress } from '../../src/state/types.js'

/*
 * The pure parts around rehearsals: the verdict from measured intervals, the
 * progress in the shared state (validated, and older states still load), and
 * how the gateway shows the estimate without letting it end the window.
 */

const lock = (relation: string, mode: string, from: number, to: number) => ({ statement: 0, relation, mode, from, to })

t.test('verdicts follow PostgreSQL\'s lock conflicts; overlapping holds count once', async (t) => {
  t.equal(verdict([lock('orders', 'AccessExclusiveLock', 0, 4200), lock('orders', 'ShareLock', 100, 900)], ['orders']),
    'blocks reads and writes to orders for 4.2 s; rewrote orders')
  t.equal(verdict([lock('orders', 'ShareLock', 0, 250)], []), 'blocks writes to orders for 250 ms')
  t.equal(verdict([lock('orders', 'AccessExclusiveLock', 0, 10), lock('orders', 'ShareRowExclusiveLock', 0, 1500)], []),
    'blocks reads and writes to orders for 10 ms (writes for 1.5 s)')
  t.equal(verdict([lock('orders', 'ShareUpdateExclusiveLock', 0, 731)], []), 'blocks neither reads nor writes (holds off other DDL and VACUUM on orders for 731 ms)')
  t.equal(verdict([lock('orders', 'RowExclusiveLock', 0, 90_000), lock('customers', 'AccessShareLock', 0, 5)], []), 'blocks neither reads nor writes')
  t.equal(verdict([lock('a', 'ExclusiveLock', 0, 100), lock('b', 'AccessExclusiveLock', 0, 2000)], []),
    'blocks reads and writes to b for 2.0 s; blocks writes to a for 100 ms', 'the longest first')
  t.equal(coveredMs([{ from: 0, to: 10 }, { from: 5, to: 20 }, { from: 30, to: 40 }, { from: 32, to: 35 }]), 30)
  t.same([formatDuration(0.4), formatDuration(12.4), formatDuration(4210), formatDuration(125_000)], ['<1 ms', '12 ms', '4.2 s', '2 min 5 s'])
})

const progress = (over: Partial<MigrationProgress> = {}): MigrationProgress =>
  ({ runId: 'run-1', step: 2, of: 3, current: '003_orders_note', endsAt: new Date(Date.now() + 40_000).toISOString(), updatedAt: new Date().toISOString(), ...over })

t.test('progress in the shared state: validated, optional, and older states load', async (t) => {
  const old = initialState()
  t.equal(stateProblem(old), null, 'a state without progress (as older versions wrote it) is fine')
  t.equal(decodeState(JSON.parse(JSON.stringify(old))).progress, undefined)
  const withProgress = { ...old, progress: progress() }
  t.equal(stateProblem(withProgress), null)
  t.same(decodeState(JSON.parse(JSON.stringify(withProgress))).progress, withProgress.progress, 'kept through a stored document (file, Redis)')
  t.equal(stateProblem({ ...old, progress: null }), null)
  t.match(stateProblem({ ...old, progress: { ...progress(), step: 'three' } }), /^state\.progress /, 'a bad field refuses the state, naming progress')
  t.match(stateProblem({ ...old, progress: progress({ step: 4, of: 3 }) }), /state\.progress\.step 4 is past its last step/)
  t.throws(() => decodeState({ ...JSON.parse(JSON.stringify(old)), progress: 'step 3' }), /state\.progress is not an object/)
})

t.test('the gateway shows the estimate as endsAt and Retry-After, and never lets it end the window', async (t) => {
  const template = parseTemplate('<p>{{progress}}</p><time>{{endsAt}}</time>')
  const options = { signingKey: 'k'.repeat(32), template, cookieTtlSeconds: 60 }
  const now = Date.now()
  const on = { ...defaultMaintenance(), enabled: true }
  const p = progress({ endsAt: new Date(now + 40_000).toISOString() })
  const c = compileMaintenance(on, { ...options, progress: p })
  t.same(c.progress, p)
  t.equal(c.endsAt, p.endsAt)
  t.equal(c.etaSeconds(now), 40)
  t.equal(c.retryAfterAt(now), 40)
  t.ok(c.isActive(now + 3_600_000), 'an hour past the estimate, maintenance is still on: the run may overrun')
  t.equal(c.retryAfterAt(now + 3_600_000), 5, 'overdue: retry soon')
  t.equal(c.etaSeconds(now + 3_600_000), 0)
  t.equal(renderTemplate(template, c.pageValues(null)).toString(), `<p>Step 2 of 3</p><time>${p.endsAt ?? ''}</time>`)

  const own = compileMaintenance({ ...on, endsAt: new Date(now + 600_000).toISOString(), retryAfter: 120 }, { ...options, progress: p })
  t.equal(own.endsAt, new Date(now + 600_000).toISOString(), 'the operator\'s own endsAt wins')
  t.equal(own.retryAfterAt(now), 120, 'and so does their retryAfter')
  t.equal(own.etaSeconds(now), null)

  const off = compileMaintenance(defaultMaintenance(), { ...options, progress: p })
  t.equal(off.progress, null, 'no progress shown while maintenance is off')
  t.equal(off.endsAt, null)
  const none = compileMaintenance(on, { ...options, progress: progress({ endsAt: null }) })
  t.same([none.etaSeconds(now), none.endsAt, none.retryAfterAt(now)], [null, null, null], 'without a rehearsal: no estimate')
  t.equal(renderTemplate(parseTemplate('{{progress}}'), { message: 'm', retryAfter: null, endsAt: null, progress: '<b>&' }).toString(), '&lt;b&gt;&amp;', 'escaped like every slot')
})

t.test('a run\'s progress reaches another replica through the shared store (Redis), and is cleared', async (t) => {
  const prefix = uniquePrefix('progress')
  await rawRedis(t, REDIS_URL, prefix)
  const replica = async (): Promise<AppContext> => {
    const config = testConfig({ upstream: 'http://127.0.0.1:9', redisUrl: REDIS_URL, redis: { keyPrefix: prefix }, resyncIntervalMs: 200 })
    const store = createStore(config, silentLogger)
    const holder = new StateHolder(store, silentLogger, 100)
    await holder.start()
    t.teardown(async () => { holder.stop(); await store.close() })
    return { config, logger: silentLogger, store, holder, events: new DrawbridgeEvents(), metrics: new Metrics(), appliedMigrations: null }
  }
  const [a, b] = [await replica(), await replica()]
  const run = new RunProgress(a, 'run-7', ['002_a', '003_b', '004_c'], new Map([['002_a', 1000], ['003_b', 30_000], ['004_c', 9000]]))
  t.equal(run.remainingMs(1), 39_000, 'the rehearsal\'s durations of what is left')
  await run.at(1)
  const seen = await waitForState(b.holder, (s) => s.progress?.step === 2)
  t.match(seen.progress, { runId: 'run-7', step: 2, of: 3, current: '003_b' })
  const eta = (Date.parse(seen.progress?.endsAt ?? '') - Date.now()) / 1000
  t.ok(eta > 30 && eta <= 39, `estimate about 39 s ahead (${eta.toFixed(1)} s)`)
  t.equal(new RunProgress(a, 'run-7', ['002_a'], null).remainingMs(0), null, 'no rehearsal: no estimate')
  await run.clear()
  t.equal((await waitForState(b.holder, (s) => s.progress === null)).progress, null, 'cleared on the other replica too')
})
