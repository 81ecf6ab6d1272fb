import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { runDrawbridge } from '../helpers/spawn-gateway.js'
import { ADMIN, CHROMIUM, READ, api, eventually, launch, openConsole, seriousViolations, signIn, visit } from './browser.js'
import { startWorld } from './world.js'

/*
 * The console's sign-in and Maintenance page in Chromium against the real
 * binary, every change checked through the API afterwards; the read token's
 * console; a cross-site POST; a change made with the CLI showing up in an
 * open page. Controls are found by the accessible names of CONTRACT section 7.
 */
if (!existsSync(CHROMIUM)) {
  t.plan(0, `no browser at ${CHROMIUM}`)
} else {
  const world = await startWorld(t)
  const { admin } = world
  const browser = await launch(t)
  const maintenance = async (): Promise<any> => (await api(admin, 'GET', '/v1/maintenance', ADMIN)).json
  // Each test starts from a window that is off and empty, whatever the one before left.
  t.beforeEach(async () => {
    await api(admin, 'PATCH', '/v1/maintenance', ADMIN, { enabled: false, message: null, retryAfter: null, startsAt: null, endsAt: null, mode: 'full', allow: [], exceptPaths: [], secret: null })
  })

  t.test('sign-in: a wrong token is refused where it was typed; the right one opens an HttpOnly, SameSite=Strict session', async (t) => {
    const tab = await openConsole(browser, admin, null)
    t.teardown(async () => { await tab.context.close() })
    const token = tab.page.getByRole('textbox', { name: 'Token' })
    await token.fill('not-the-token-0123456789')
    await tab.page.getByRole('button', { name: 'Sign in' }).click()
    await tab.page.getByRole('alert').filter({ hasText: 'not one this gateway knows' }).waitFor()
    t.same(await tab.context.cookies(), [], 'no cookie for a wrong token')
    await signIn(tab.page, ADMIN)
    const [cookie] = await tab.context.cookies()
    t.match(cookie, { name: 'drawbridge_console', httpOnly: true, sameSite: 'Strict', path: '/' })
    t.ok((cookie?.expires ?? 0) * 1000 > Date.now() + 7 * 3600_000, 'it expires, in eight hours')
    t.equal(await tab.page.evaluate(() => document.cookie), '', 'page script cannot read it')

    await tab.page.getByRole('button', { name: 'Sign out' }).click()
    await tab.page.getByRole('status').filter({ hasText: 'Signed out.' }).waitFor()
    t.same(await tab.context.cookies(), [], 'signing out clears the cookie')
    const replay = await tab.context.request.get(`http://${admin}/ui/session`, { headers: { cookie: `${cookie?.name ?? ''}=${cookie?.value ?? ''}` } })
    t.equal(replay.status(), 401, 'and the session is over even if its cookie is replayed')
    t.same(tab.errors, [])
  })

  t.test('maintenance on with a message, seen in the preview and checked through the API; then off', async (t) => {
    // To the millisecond: the form shows minutes, and a save must not round what it did not change.
    const endsAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_600_000 + 1234).toISOString()
    await api(admin, 'PATCH', '/v1/maintenance', ADMIN, { endsAt })
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await page.getByRole('textbox', { name: 'Message' }).fill('Upgrading the database until 3 am')
    const preview = page.frameLocator('iframe[title="Maintenance page as customers see it"]')
    await preview.getByText('Upgrading the database until 3 am').waitFor()
    t.pass('the preview shows the message while it is typed')
    await page.getByRole('button', { name: 'Turn maintenance on' }).click()
    await page.getByRole('button', { name: 'Turn maintenance off' }).waitFor()
    t.match(await maintenance(), { enabled: true, message: 'Upgrading the database until 3 am', updatedBy: 'admin' })
    await page.getByRole('heading', { name: 'Maintenance is on' }).waitFor()

    await page.getByRole('spinbutton', { name: 'Retry-After (seconds)' }).fill('120')
    await page.getByRole('radio', { name: /Read-only/ }).check()
    await page.getByRole('textbox', { name: 'Never these paths' }).fill('/healthz\n/webhooks')
    await page.getByRole('button', { name: 'Save window' }).click()
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor()
    t.match(await maintenance(), { retryAfter: 120, mode: 'read-only', exceptPaths: ['/healthz', '/webhooks'], endsAt }, 'only what was changed is saved')

    await page.getByRole('button', { name: 'Turn maintenance off' }).click()
    await page.getByRole('button', { name: 'Turn maintenance on' }).waitFor()
    t.match(await maintenance(), { enabled: false })
    const audit = (await api(admin, 'GET', '/v1/audit?limit=3', READ)).json.entries as Array<{ actor: string, action: string }>
    t.same(audit.map((e) => [e.actor, e.action]), [['admin', 'maintenance.update'], ['admin', 'maintenance.update'], ['admin', 'maintenance.update']], 'the audit log names the token')
    t.same(tab.errors, [])
  })

  t.test('allowlist: the API’s validation error is shown; a good entry is added; bypass URL created, copied, rotated', async (t) => {
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await tab.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: `http://${admin}` })
    const entry = page.getByRole('textbox', { name: 'Address or CIDR' })
    await entry.fill('10.0.0.0/33')
    await page.getByRole('button', { name: 'Add to allowlist' }).click()
    await page.getByRole('alert').filter({ hasText: '10.0.0.0/33' }).waitFor()
    t.same((await maintenance()).allow, [], 'the bad entry was refused')
    await entry.fill('203.0.113.0/24 2001:db8::/32')
    await page.getByRole('button', { name: 'Add to allowlist' }).click()
    await page.getByRole('button', { name: 'Remove 2001:db8::/32' }).waitFor()
    t.same((await maintenance()).allow, ['203.0.113.0/24', '2001:db8::/32'])
    await page.getByRole('button', { name: 'Remove 203.0.113.0/24' }).click()
    await page.getByRole('button', { name: 'Remove 203.0.113.0/24' }).waitFor({ state: 'detached' })
    t.same((await maintenance()).allow, ['2001:db8::/32'])

    await page.getByRole('button', { name: 'Create bypass URL' }).click()
    const url = page.getByRole('textbox', { name: 'Bypass URL' })
    await url.waitFor()
    const first = (await maintenance()).bypassUrl as string
    t.equal(await url.inputValue(), first)
    await page.getByRole('button', { name: 'Copy bypass URL' }).click()
    await page.getByRole('status').filter({ hasText: 'Copied' }).waitFor()
    t.equal(await page.evaluate(async () => await navigator.clipboard.readText()), first, 'copied to the clipboard')
    await page.getByRole('button', { name: 'Rotate secret' }).click()
    const second = await eventually(async () => (await maintenance()).bypassUrl as string, (u) => u !== first)
    t.not(second, first, 'a new secret')
    await eventually(async () => await url.inputValue(), (v) => v === second)
    t.equal(await url.inputValue(), second)
    t.same(tab.errors, [], 'no page error')
  })

  t.test('a change made with the CLI shows in an open page within a few seconds, without a reload', async (t) => {
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await page.getByRole('heading', { name: 'Maintenance is off' }).waitFor()
    await page.evaluate(() => { (window as unknown as { marker: boolean }).marker = true })
    const cli = await runDrawbridge(['maintenance', 'on', '--message', 'Set from the CLI'], { DRAWBRIDGE_ADMIN_URL: `http://${admin}`, DRAWBRIDGE_ADMIN_TOKEN: ADMIN })
    t.equal(cli.code, 0, cli.stderr)
    const started = Date.now()
    await page.getByRole('heading', { name: 'Maintenance is on' }).waitFor({ timeout: 5000 })
    await eventually(async () => await page.getByRole('textbox', { name: 'Message' }).inputValue(), (v) => v === 'Set from the CLI', 5000)
    t.equal(await page.getByRole('textbox', { name: 'Message' }).inputValue(), 'Set from the CLI')
    t.comment(`shown ${Date.now() - started} ms after the CLI returned`)
    t.equal(await page.evaluate(() => (window as unknown as { marker?: boolean }).marker), true, 'the same page: no reload')
    const off = await runDrawbridge(['maintenance', 'off'], { DRAWBRIDGE_ADMIN_URL: `http://${admin}`, DRAWBRIDGE_ADMIN_TOKEN: ADMIN })
    t.equal(off.code, 0, off.stderr)
    await page.getByRole('heading', { name: 'Maintenance is off' }).waitFor({ timeout: 5000 })
  })

  t.test('a scheduled window shows as scheduled, then as on once its start passes, with no change to the state', async (t) => {
    // The page is open before the window is set: opening a browser context can take longer than
    // the wait before the start on a loaded machine, and the page would then never see it scheduled.
    const tab = await openConsole(browser, admin, READ)
    t.teardown(async () => { await tab.context.close() })
    await tab.page.getByRole('heading', { name: /^Maintenance is / }).waitFor()
    await api(admin, 'PATCH', '/v1/maintenance', ADMIN, { enabled: true, startsAt: new Date(Date.now() + 4000).toISOString() })
    await tab.page.getByRole('heading', { name: 'Maintenance is scheduled' }).waitFor({ timeout: 3500 })
    await tab.page.getByRole('heading', { name: 'Maintenance is on' }).waitFor({ timeout: 15_000 })
    t.pass('the card follows the clock')
  })

  t.test('a read token sees everything and no enabled write control; its writes get 403 anyway', async (t) => {
    await api(admin, 'PATCH', '/v1/maintenance', ADMIN, { secret: true })
    const tab = await openConsole(browser, admin, READ)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await page.getByText('Read-only: this token').waitFor()
    t.ok(await page.getByRole('button', { name: 'Turn maintenance on' }).isDisabled())
    t.ok(await page.getByRole('textbox', { name: 'Message' }).isDisabled())
    t.ok(await page.getByRole('textbox', { name: 'Address or CIDR' }).isDisabled())
    t.ok(await page.getByRole('button', { name: 'Rotate secret' }).isDisabled())
    await page.getByText('Only an admin token sees it').waitFor()

    const session = await tab.context.request.get(`http://${admin}/ui/session`)
    const { csrf, role } = await session.json() as { csrf: string, role: string }
    t.equal(role, 'read')
    const write = await tab.context.request.patch(`http://${admin}/v1/maintenance`, { headers: { origin: `http://${admin}`, 'x-drawbridge-csrf': csrf }, data: { enabled: true } })
    t.equal(write.status(), 403, 'the session of a read token may not write')
    t.equal((await write.json()).code, 'DRAWBRIDGE_ERR_FORBIDDEN')
    t.equal((await api(admin, 'PATCH', '/v1/maintenance', READ, { enabled: true })).status, 403)
    t.match(await maintenance(), { enabled: false })
  })

  t.test('a cross-site POST is refused: no cookie from another site, no CSRF token, a foreign Origin', async (t) => {
    const tab = await openConsole(browser, admin, ADMIN)
    t.teardown(async () => { await tab.context.close() })
    // A page on another site that posts to the admin port the moment it opens.
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><form id=f method=post action="http://${admin}/v1/maintenance" enctype="text/plain"><input name='{"enabled":true,"x":"' value='"}'></form>
        <script>fetch('http://${admin}/v1/maintenance', { method: 'PATCH', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: '{"enabled":true}' }).finally(() => document.getElementById('f').submit())</script>`)
    })
    await new Promise<void>((resolve) => evil.listen(0, 'localhost', resolve))
    t.teardown(() => { evil.close() })
    const answer = tab.page.waitForResponse((r) => r.url() === `http://${admin}/v1/maintenance` && r.request().method() === 'POST')
    await tab.page.goto(`http://localhost:${(evil.address() as AddressInfo).port}/`)
    t.equal((await answer).status(), 401, 'the SameSite=Strict cookie is not sent from another site')
    t.match(await maintenance(), { enabled: false }, 'nothing changed')

    const forged = await tab.context.request.patch(`http://${admin}/v1/maintenance`, { headers: { origin: 'http://localhost' }, data: { enabled: true } })
    t.equal(forged.status(), 403, 'with the cookie but a foreign Origin and no CSRF token')
    t.equal((await forged.json()).code, 'DRAWBRIDGE_ERR_CROSS_SITE')
    t.match(await maintenance(), { enabled: false })
  })

  t.test('keyboard only: sign in, skip to the content, move between pages, turn maintenance on and off', async (t) => {
    const tab = await openConsole(browser, admin, null)
    t.teardown(async () => { await tab.context.close() })
    const { page } = tab
    await page.getByRole('textbox', { name: 'Token' }).waitFor()
    t.equal(await page.evaluate(() => document.activeElement?.id), 'token', 'the token field has the focus')
    await page.keyboard.type(ADMIN)
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Maintenance is off' }).waitFor()
    const focused = async (): Promise<string | undefined> => await page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent || undefined)
    await eventually(focused, (f) => f === 'page-title')
    t.equal(await focused(), 'page-title', 'signed in: the focus is on the page’s heading')
    for (const stop of ['Sign out', 'Audit', 'Upstreams', 'Migrations', 'Flags', 'Maintenance', 'Skip to content']) {
      await page.keyboard.press('Shift+Tab')
      t.equal(await focused(), stop, `back to ${stop}`)
    }
    await page.keyboard.press('Enter')
    t.equal(await focused(), 'main', 'the skip link moves to the content')
    await page.keyboard.press('Tab')
    t.equal(await focused(), 'Turn maintenance on', 'whose first control is the main action')
    await page.keyboard.press('Enter')
    await page.getByRole('button', { name: 'Turn maintenance off' }).waitFor()
    t.equal((await maintenance()).enabled, true)
    await page.getByRole('button', { name: 'Turn maintenance off' }).focus()
    await page.keyboard.press('Space')
    await page.getByRole('button', { name: 'Turn maintenance on' }).waitFor()
    t.equal((await maintenance()).enabled, false)

    await page.getByRole('link', { name: 'Flags' }).focus()
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { level: 1, name: 'Flags' }).waitFor()
    await eventually(focused, (f) => f === 'page-title')
    t.equal(await focused(), 'page-title', 'a new page moves the focus to its heading')
  })

  t.test('axe: no serious or critical violation on the sign-in and Maintenance pages, light and dark, desktop and phone', async (t) => {
    // Light on a desktop, dark on a phone: both themes and both layouts, in two page loads.
    for (const [colorScheme, viewport] of [['light', { width: 1280, height: 800 }], ['dark', { width: 390, height: 844 }]] as const) {
      const what = `${colorScheme} ${viewport.width}px`
      const tab = await openConsole(browser, admin, null, { colorScheme, viewport })
      await tab.page.getByRole('textbox', { name: 'Token' }).waitFor()
      t.same(await seriousViolations(tab.page), [], `sign-in, ${what}`)
      await signIn(tab.page, ADMIN)
      await visit(tab.page, 'Maintenance')
      await tab.page.getByRole('heading', { name: /^Maintenance is/ }).waitFor()
      t.same(await seriousViolations(tab.page), [], `Maintenance, ${what}`)
      const width = await tab.page.evaluate(() => document.documentElement.scrollWidth)
      t.ok(width <= viewport.width, `${what}: nothing wider than the screen (${width}px)`)
      await tab.context.close()
    }
  })
}
