import { existsSync } from 'node:fs'
import t from 'tap'
import type { Page } from 'playwright-core'
import { ADMIN, CHROMIUM, READ, api, eventually, launch, openConsole, seriousViolations, visit } from './browser.js'
import { startWorld } from './world.js'

/*
 * The Flags page in Chromium against the real binary: create, switch, roll
 * out, variants, rules, gate, requires, overrides, one user's resolved flags,
 * search, delete; every change checked through the API. Controls are found
 * by the names of CONTRACT section 7 (New flag, Key, Create, a switch per key).
 */
if (!existsSync(CHROMIUM)) {
  t.plan(0, `no browser at ${CHROMIUM}`)
} else {
  const world = await startWorld(t)
  const { admin } = world
  const browser = await launch(t)
  const flag = async (key: string): Promise<{ status: number, json: any }> => await api(admin, 'GET', `/v1/flags/${key}`, ADMIN)
  /** The list item of one flag, found through its switch. */
  const itemOf = (page: Page, key: string) => page.getByRole('listitem').filter({ has: page.getByRole('switch', { name: key, exact: true }) })

  t.test('create a flag, switch it on, roll it out to 25%, give it variants, a rule and a gate', async (t) => {
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await visit(page, 'Flags')
    await page.getByRole('button', { name: 'New flag' }).click()
    await page.getByRole('textbox', { name: 'Key' }).fill('new-checkout')
    await page.getByRole('button', { name: 'Create' }).click()
    const toggle = page.getByRole('switch', { name: 'new-checkout' })
    await toggle.waitFor()
    t.equal(await toggle.getAttribute('aria-checked'), 'false', 'a new flag starts off')
    t.match((await flag('new-checkout')).json, { key: 'new-checkout', enabled: false })

    await toggle.click()
    await eventually(async () => await toggle.getAttribute('aria-checked'), (v) => v === 'true')
    t.match((await flag('new-checkout')).json, { enabled: true }, 'switched on through the API')

    await itemOf(page, 'new-checkout').getByRole('button', { name: 'Edit' }).click()
    await page.getByRole('slider', { name: 'Rollout percentage' }).fill('25')
    await page.getByRole('button', { name: 'Add variant' }).click()
    await page.getByRole('button', { name: 'Add variant' }).click()
    const names = page.getByRole('textbox', { name: 'Variant name' })
    await names.nth(0).fill('control')
    await names.nth(1).fill('treatment')
    await page.getByRole('textbox', { name: 'Value' }).nth(1).fill('{"color":"green"}')
    await page.getByRole('button', { name: 'Add rule' }).click()
    await page.getByRole('textbox', { name: 'Attribute' }).fill('plan')
    await page.getByRole('textbox', { name: 'Values (comma-separated)' }).fill('pro, team')
    await page.getByRole('combobox', { name: 'Then' }).selectOption('variant:treatment')
    await page.getByRole('textbox', { name: 'Gate paths' }).fill('/v2/')
    await page.getByRole('button', { name: 'Save flag' }).click()
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
    t.match((await flag('new-checkout')).json, {
      enabled: true,
      rollout: { percentage: 25 },
      variants: [{ name: 'control', weight: 50 }, { name: 'treatment', weight: 50, value: { color: 'green' } }],
      rules: [{ attribute: 'plan', in: ['pro', 'team'], variant: 'treatment' }],
      gate: { paths: ['/v2/'], status: 404 }
    })
    t.same(tab.errors, [])
  })

  t.test('the API’s validation error shows where the flag is edited; requires is refused without its migration', async (t) => {
    await api(admin, 'PUT', '/v1/flags/search-v2', ADMIN, { enabled: false })
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await visit(page, 'Flags')
    const item = itemOf(page, 'search-v2')
    await item.getByRole('button', { name: 'Edit' }).click()
    await page.getByRole('button', { name: 'Add variant' }).click()
    await page.getByRole('button', { name: 'Add variant' }).click()
    await page.getByRole('textbox', { name: 'Variant name' }).nth(1).fill('control')
    await page.getByRole('button', { name: 'Save flag' }).click()
    await page.getByRole('alert').filter({ hasText: /control/ }).waitFor()
    t.pass('duplicate variant names: the API’s message is shown')
    t.same((await flag('search-v2')).json.variants, null, 'and nothing was saved')
    await page.getByRole('button', { name: 'Undo edits' }).click()

    await page.getByRole('textbox', { name: 'Requires migration' }).fill('002_search_index')
    await page.getByRole('button', { name: 'Save flag' }).click()
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
    t.equal((await flag('search-v2')).json.requires, '002_search_index')
    await page.getByRole('switch', { name: 'search-v2' }).click()
    await page.getByRole('alert').filter({ hasText: /requires migration 002_search_index/ }).waitFor()
    t.equal((await flag('search-v2')).json.enabled, false, 'a flag whose migration is not applied stays off')
  })

  t.test('an override for one user, seen in that user’s resolved flags; search; delete', async (t) => {
    await api(admin, 'PUT', '/v1/flags/dark-mode', ADMIN, { enabled: true, description: 'Dark theme' })
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await visit(page, 'Flags')
    await itemOf(page, 'dark-mode').getByRole('button', { name: 'Edit' }).click()
    await page.getByRole('textbox', { name: 'Override user id' }).fill('alice')
    await page.getByRole('combobox', { name: 'Gets' }).selectOption('off')
    await page.getByRole('button', { name: 'Set override' }).click()
    await page.getByRole('button', { name: 'Remove override for alice' }).waitFor()
    const overrides = (await api(admin, 'GET', '/v1/flags/dark-mode/overrides', ADMIN)).json.overrides
    t.same(overrides, [{ key: 'dark-mode', userId: 'alice', enabled: false }])

    await page.getByRole('textbox', { name: 'User to inspect' }).fill('alice')
    await page.getByRole('button', { name: 'Show resolved flags' }).click()
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'dark-mode' }) })
    await row.waitFor()
    t.match(await row.innerText(), /dark-mode\s+off\s+off\s+false\s+TARGETING_MATCH\s+yes/)

    await page.getByRole('searchbox', { name: 'Search flags' }).fill('dark')
    await eventually(async () => await page.getByRole('switch').count(), (n) => n === 1)
    t.equal(await page.getByRole('switch').count(), 1, 'the search leaves one flag')
    await page.getByRole('button', { name: 'Delete flag' }).click()
    await page.getByRole('button', { name: 'Delete for good' }).click()
    await page.getByRole('switch', { name: 'dark-mode' }).waitFor({ state: 'detached' })
    t.equal((await flag('dark-mode')).status, 404, 'deleted through the API')
  })

  t.test('a flag changed elsewhere flips in an open page; a read token gets no enabled switch', async (t) => {
    await api(admin, 'PUT', '/v1/flags/beta-banner', ADMIN, { enabled: false })
    const tab = await openConsole(browser, admin, READ)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await visit(page, 'Flags')
    const toggle = page.getByRole('switch', { name: 'beta-banner' })
    await toggle.waitFor()
    t.ok(await toggle.isDisabled(), 'switches are disabled for a read token')
    t.ok(await page.getByRole('button', { name: 'New flag' }).isDisabled())
    await itemOf(page, 'beta-banner').getByRole('button', { name: 'Details' }).click()
    t.ok(await page.getByRole('button', { name: 'Save flag' }).isDisabled())
    t.ok(await page.getByRole('slider', { name: 'Rollout percentage' }).isDisabled())
    t.ok(await page.getByRole('button', { name: 'Delete flag' }).isDisabled())
    t.ok(await page.getByRole('button', { name: 'Set override' }).isDisabled())

    const started = Date.now()
    await api(admin, 'PATCH', '/v1/flags/beta-banner', ADMIN, { enabled: true })
    await eventually(async () => await toggle.getAttribute('aria-checked'), (v) => v === 'true', 5000)
    t.equal(await toggle.getAttribute('aria-checked'), 'true', 'the change made elsewhere shows without a reload')
    t.comment(`shown ${Date.now() - started} ms after the write`)
    t.equal((await api(admin, 'PATCH', '/v1/flags/beta-banner', READ, { enabled: false })).status, 403)

    await page.getByRole('checkbox', { name: 'Only stale flags' }).check()
    await page.getByRole('status').filter({ hasText: /^0 flags that look stale/ }).waitFor()
    t.equal(await page.getByRole('switch').count(), 0, 'flags changed minutes ago are not stale')
  })

  t.test('axe: no serious or critical violation on Flags (list, editor, resolved flags), light and dark', async (t) => {
    // Light on a desktop, dark on a phone: both themes and both layouts, in two page loads.
    for (const [colorScheme, viewport] of [['light', { width: 1280, height: 800 }], ['dark', { width: 390, height: 844 }]] as const) {
      const what = `${colorScheme} ${viewport.width}px`
      const tab = await openConsole(browser, admin, ADMIN, { colorScheme, viewport })
      const { page } = tab
      await visit(page, 'Flags')
      await itemOf(page, 'new-checkout').getByRole('button', { name: 'Edit' }).click()
      await page.getByRole('textbox', { name: 'User to inspect' }).fill('bob')
      await page.getByRole('button', { name: 'Show resolved flags' }).click()
      await page.getByRole('table').waitFor()
      await page.getByRole('button', { name: 'New flag' }).click()
      t.same(await seriousViolations(page), [], `Flags, ${what}`)
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      t.ok(width <= viewport.width, `${what}: nothing wider than the screen (${width}px)`)
      await tab.context.close()
    }
  })
}
