import { existsSync } from 'node:fs'
import t from 'tap'
import { request } from 'undici'
import { ADMIN, CHROMIUM, READ, api, enabledControls, eventually, launch, openConsole, seriousViolations, visit } from './browser.js'
import { startWorld } from './world.js'

/*
 * Migrations, Upstreams and the Audit log in Chromium against the real
 * binary: a dry run and a run against a real PostgreSQL database created
 * here, followed live; a blue-green switch between two real upstreams (and
 * one the health check refuses), a canary, a pause; the audit log filtered.
 * Each change is checked through the API (and the database, the gateway).
 */
if (!existsSync(CHROMIUM)) {
  t.plan(0, `no browser at ${CHROMIUM}`)
} else {
  const world = await startWorld(t, { database: true, downUpstream: true })
  const { admin } = world
  const db = world.db as NonNullable<typeof world.db>
  const browser = await launch(t)

  t.test('migrations: findings with fixes, a dry run refused then run with live progress, then one migration applied', async (t) => {
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await visit(page, 'Migrations')
    await page.getByRole('region', { name: 'Pending migrations' }).getByRole('rowheader', { name: '003_drop_note' }).waitFor()

    await page.getByRole('button', { name: 'Analyze pending migrations' }).click()
    const findings = page.getByRole('list', { name: 'Findings' })
    await findings.waitFor()
    t.match(await findings.innerText(), /high[\s\S]*003_drop_note[\s\S]*ban-drop-column[\s\S]*Fix:/, 'the finding, its rule and its fix')

    await page.getByRole('button', { name: 'Start dry run' }).click()
    const progress = page.getByRole('region', { name: 'Run progress' })
    await progress.getByRole('status').filter({ hasText: 'failed' }).waitFor()
    t.match(await progress.innerText(), /High-severity findings in 003_drop_note/, 'the refusal, as the run reports it')

    await page.getByRole('checkbox', { name: 'Run despite high-severity findings' }).check()
    await page.getByRole('button', { name: 'Start dry run' }).click()
    await progress.getByRole('status').filter({ hasText: /dry run.*succeeded/ }).waitFor({ timeout: 20_000 })
    const steps = await progress.getByRole('region', { name: 'Run steps' }).innerText()
    t.match(steps, /001_orders[\s\S]*002_orders_status[\s\S]*003_drop_note/, 'each migration is a step of the run')
    const runs = (await api(admin, 'GET', '/v1/migrations/runs?limit=2', ADMIN)).json.runs as Array<{ status: string, actor: string, options: { dryRun: boolean, allowDangerous: boolean } }>
    t.match(runs, [{ status: 'succeeded', actor: 'admin', options: { dryRun: true, allowDangerous: true } }, { status: 'failed', options: { dryRun: true } }])
    t.equal((await api(admin, 'GET', '/v1/migrations', ADMIN)).json.pending.length, 3, 'a dry run applies nothing')
    t.same(await db.query("SELECT 1 FROM pg_tables WHERE tablename = 'orders'"), [])

    await page.getByRole('spinbutton', { name: 'At most this many migrations' }).fill('1')
    await page.getByRole('button', { name: 'Apply migrations…' }).click()
    await page.getByRole('button', { name: 'Apply 1 migration for good' }).click()
    await progress.getByRole('status').filter({ hasText: /^Run \S+: succeeded/ }).waitFor({ timeout: 20_000 })
    const status = (await api(admin, 'GET', '/v1/migrations', ADMIN)).json
    t.same(status.applied.map((a: { name: string }) => a.name), ['001_orders'], 'one migration applied')
    t.equal((await db.query("SELECT 1 AS found FROM pg_tables WHERE tablename = 'orders'")).length, 1, 'the table exists in the database')
    await page.getByRole('region', { name: 'Applied migrations' }).getByRole('rowheader', { name: '001_orders' }).waitFor()

    // A rehearsal (CONTRACT section 8) of what is still pending, on a scratch copy.
    await page.getByRole('button', { name: 'Start rehearsal' }).click()
    await page.getByRole('status').filter({ hasText: /^Rehearsal \S+ on \S+: succeeded/ }).waitFor({ timeout: 30_000 })
    const rehearsed = await page.getByRole('region', { name: 'Rehearsed migrations' }).innerText()
    t.match(rehearsed, /002_orders_status[\s\S]*applied[\s\S]*line \d+: \d+ ms[\s\S]*003_drop_note[\s\S]*AccessExclusiveLock on orders/, 'each pending migration rehearsed, with its statements and locks')
    t.equal((await api(admin, 'GET', '/v1/migrations', ADMIN)).json.pending.length, 2, 'the live database is not written by a rehearsal')
    t.same(tab.errors, [])
  })

  t.test('upstreams: health, a switch to green (traffic follows), a switch the health check refuses, canary, pause', async (t) => {
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await visit(page, 'Upstreams')
    const table = page.getByRole('region', { name: 'Upstreams' })
    const row = (name: string) => table.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) })
    await row('green').getByText('healthy', { exact: true }).waitFor()
    await row('red').getByText('unhealthy').waitFor({ timeout: 10_000 })
    const home = async (): Promise<string> => await (await request(`http://${world.gw.gateway}/`)).body.text()
    t.equal(await home(), 'blue')

    await page.getByRole('button', { name: 'Switch to green' }).click()
    await row('green').getByText('active').waitFor()
    t.match((await api(admin, 'GET', '/v1/upstreams', ADMIN)).json.routing, { active: 'green', updatedBy: 'admin' })
    t.equal(await home(), 'green', 'new requests go to green')

    await page.getByRole('button', { name: 'Switch to red', exact: true }).click()
    await page.getByRole('alert').filter({ hasText: /red failed its health check/ }).waitFor()
    await page.getByRole('button', { name: 'Switch to red anyway' }).waitFor()
    t.equal((await api(admin, 'GET', '/v1/upstreams', ADMIN)).json.routing.active, 'green', 'nothing changed')

    await page.getByRole('combobox', { name: 'Canary upstream' }).selectOption('blue')
    await page.getByRole('spinbutton', { name: 'Share of users (%)' }).fill('10')
    await page.getByRole('button', { name: 'Set canary' }).click()
    await page.getByText('10% of users go to blue.').waitFor()
    t.same((await api(admin, 'GET', '/v1/upstreams', ADMIN)).json.routing.canary, { upstream: 'blue', percentage: 10 })
    await page.getByRole('button', { name: 'Stop canary' }).click()
    await page.getByText('No canary').waitFor()
    t.equal((await api(admin, 'GET', '/v1/upstreams', ADMIN)).json.routing.canary, null)

    await page.getByRole('button', { name: 'Pause traffic' }).click()
    await page.getByRole('button', { name: 'Resume traffic' }).waitFor()
    t.equal((await api(admin, 'GET', '/v1/upstreams', ADMIN)).json.routing.paused, true)
    const held = request(`http://${world.gw.gateway}/`).then(async (r) => await r.body.text())
    await page.getByText(/Paused: 1 request held/).waitFor({ timeout: 5000 })
    await page.getByRole('button', { name: 'Resume traffic' }).click()
    t.equal(await held, 'green', 'the held request went on after the resume')
    t.equal((await api(admin, 'GET', '/v1/upstreams', ADMIN)).json.routing.paused, false)
    t.same(tab.errors, [])
  })

  t.test('audit: filters by who and what; a change made elsewhere appears in the open log', async (t) => {
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await visit(page, 'Audit')
    const entries = page.getByRole('region', { name: 'Audit entries' })
    await entries.waitFor()
    await page.getByRole('combobox', { name: 'Action' }).selectOption('routing.update')
    await page.getByRole('combobox', { name: 'Who' }).selectOption('admin')
    const all = (await api(admin, 'GET', '/v1/audit?limit=100', ADMIN)).json.entries as Array<{ actor: string, action: string }>
    const expected = all.filter((e) => e.actor === 'admin' && e.action === 'routing.update').length
    t.ok(expected >= 4, `the upstream changes above are in the log (${expected})`)
    await eventually(async () => await entries.getByRole('row').count(), (n) => n === expected + 1)
    t.equal(await entries.getByRole('row').count(), expected + 1, 'only the matching entries (and the header row)')
    for (const action of await entries.locator('tbody td:nth-child(3)').allInnerTexts()) t.equal(action, 'routing.update')

    await page.getByRole('searchbox', { name: 'Target contains' }).fill('nothing-matches-this')
    await page.getByRole('status').filter({ hasText: `0 of ${all.length} entries match` }).waitFor()
    await page.getByRole('searchbox', { name: 'Target contains' }).fill('')

    await api(admin, 'PATCH', '/v1/routing', ADMIN, { pauseMaxMs: 12_345 })
    await eventually(async () => await entries.getByRole('row').count(), (n) => n === expected + 2, 5000)
    t.equal(await entries.getByRole('row').count(), expected + 2, 'the new entry shows without a reload')
  })

  t.test('a read token: on every page, the only controls it can operate read, search, filter or sign out', async (t) => {
    await api(admin, 'PUT', '/v1/flags/beta-banner', ADMIN, { enabled: true, variants: [{ name: 'a', weight: 1 }], rules: [{ attribute: 'plan', in: ['pro'], variant: 'a' }] })
    await api(admin, 'PUT', '/v1/flags/beta-banner/overrides/alice', ADMIN, { enabled: false })
    await api(admin, 'PATCH', '/v1/maintenance', ADMIN, { secret: true, allow: ['10.0.0.0/8'] })
    const tab = await openConsole(browser, admin, READ)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    // Controls that change nothing: navigation aside, these are all a read token gets.
    const reading = new Set([
      'button "Sign out"', 'button "Details"', 'button "Close"', 'searchbox "Search flags"', 'checkbox "Only stale flags"',
      'textbox "User to inspect"', 'textbox "Context"', 'button "Analyze pending migrations"',
      'combobox "Who"', 'combobox "Action"', 'searchbox "Target contains"', 'textbox "Since (your time)"', 'combobox "Newest"'
    ])
    const ready: Record<string, () => Promise<void>> = {
      Maintenance: async () => { await page.getByRole('heading', { name: /^Maintenance is/ }).waitFor() },
      Flags: async () => { await page.getByRole('button', { name: 'Details' }).first().click(); await page.getByRole('button', { name: 'Save flag' }).waitFor() },
      Migrations: async () => { await page.getByRole('region', { name: 'Applied migrations' }).waitFor() },
      Upstreams: async () => { await page.getByRole('region', { name: 'Upstreams' }).waitFor() },
      Audit: async () => { await page.getByRole('region', { name: 'Audit entries' }).waitFor() }
    }
    for (const [link, wait] of Object.entries(ready)) {
      await visit(page, link as keyof typeof ready & 'Maintenance')
      await wait()
      const operable = (await enabledControls(page)).filter((c) => !reading.has(c) && !/^button "Show progress/.test(c))
      t.same(operable, [], `${link}: no enabled write control`)
    }
    t.ok((await enabledControls(page)).length > 0, 'the sweep sees controls at all')
  })

  t.test('axe: no serious or critical violation on Migrations, Upstreams and Audit, light and dark', async (t) => {
    for (const [colorScheme, viewport] of [['light', { width: 1280, height: 800 }], ['dark', { width: 390, height: 844 }]] as const) {
      const what = `${colorScheme} ${viewport.width}px`
      const tab = await openConsole(browser, admin, ADMIN, { colorScheme, viewport })
      const { page } = tab
      await visit(page, 'Migrations')
      await page.getByRole('button', { name: 'Analyze pending migrations' }).click()
      await page.getByRole('list', { name: 'Findings' }).waitFor()
      await page.getByRole('button', { name: /^Show progress/ }).first().click()
      await page.getByRole('region', { name: 'Run progress' }).getByRole('table').waitFor()
      t.same(await seriousViolations(page), [], `Migrations, ${what}`)
      for (const link of ['Upstreams', 'Audit'] as const) {
        await visit(page, link)
        await page.getByRole('table').first().waitFor()
        t.same(await seriousViolations(page), [], `${link}, ${what}`)
        const width = await page.evaluate(() => document.documentElement.scrollWidth)
        t.ok(width <= viewport.width, `${link}, ${what}: nothing wider than the screen (${width}px)`)
      }
      await tab.context.close()
    }
  })
}
