// Screenshots of the operator console for docs/console/: every page at
// desktop (1280x800) and phone (390x844) size, light and dark, against a real
// gateway with two upstreams and a PostgreSQL database holding a few
// migrations. Run: node --import tsx scripts/console-screenshots.ts
// (needs /usr/bin/chromium and PostgreSQL at DATABASE_URL or 127.0.0.1:5432).
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { ADMIN, api, eventually, launch, openConsole, visit } from '../test/console/browser.js'
import { startWorld } from '../test/console/world.js'
import { ROOT } from '../test/helpers/spawn-gateway.js'

const teardowns: Array<() => unknown> = []
const t = { teardown: (fn: () => unknown) => { teardowns.unshift(fn) } } as unknown as Test
const out = join(ROOT, 'docs', 'console')
mkdirSync(out, { recursive: true })

try {
  const world = await startWorld(t, { database: true })
  const { admin } = world
  const call = async (method: string, path: string, body?: unknown): Promise<void> => {
    const res = await api(admin, method, path, ADMIN, body)
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`)
  }
  await call('PATCH', '/v1/maintenance', {
    enabled: true,
    message: 'We are upgrading the database. Orders placed before 02:00 are safe.',
    endsAt: new Date(Date.now() + 45 * 60_000).toISOString(),
    allow: ['10.0.0.0/8', '203.0.113.7', '2001:db8::/32'],
    exceptPaths: ['/healthz', '/webhooks/stripe'],
    secret: true
  })
  await call('PUT', '/v1/flags/new-checkout', { description: 'The redesigned checkout flow', enabled: true, rollout: { percentage: 25 }, requires: '002_orders_status' }).catch(async () => {
    await call('PUT', '/v1/flags/new-checkout', { description: 'The redesigned checkout flow', enabled: false, rollout: { percentage: 25 }, requires: '002_orders_status' })
  })
  await call('PUT', '/v1/flags/checkout-copy', { description: 'Button text of the checkout', enabled: true, variants: [{ name: 'control', weight: 50, value: 'Buy now' }, { name: 'short', weight: 50, value: 'Buy' }], rules: [{ attribute: 'plan', in: ['pro', 'team'], variant: 'short' }] })
  await call('PUT', '/v1/flags/search-v2', { description: 'New search backend', enabled: false, gate: { paths: ['/api/v2/search'], status: 404 } })
  await call('PUT', '/v1/flags/dark-mode', { enabled: true })
  await call('PUT', '/v1/flags/checkout-copy/overrides/alice', { variant: 'control' })
  await call('POST', '/v1/migrations/runs', { dryRun: true, step: 2 })
  await call('PATCH', '/v1/routing', { canary: { upstream: 'green', percentage: 10 } })
  await eventually(async () => await api(admin, 'GET', '/v1/migrations/runs?limit=1', ADMIN), (r) => r.json.runs?.[0]?.status === 'succeeded')
  // A rehearsal of the pending migrations, so the Migrations page shows its measured statements and locks.
  const rehearsal = await api(admin, 'POST', '/v1/migrations/rehearsals', ADMIN, { source: 'live' })
  const rehearsalId = (rehearsal.json as { id: string }).id
  await eventually(async () => await api(admin, 'GET', `/v1/migrations/rehearsals/${rehearsalId}`, ADMIN), (r) => r.json.status === 'succeeded' || r.json.status === 'failed')

  const browser = await launch(t)
  const sizes = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } }
  for (const [size, viewport] of Object.entries(sizes)) {
    for (const colorScheme of ['light', 'dark'] as const) {
      const signin = await openConsole(browser, admin, null, { viewport, colorScheme })
      await signin.page.getByRole('textbox', { name: 'Token' }).waitFor()
      await signin.page.screenshot({ path: join(out, `sign-in-${size}-${colorScheme}.png`) })
      await signin.context.close()
      const tab = await openConsole(browser, admin, ADMIN, { viewport, colorScheme })
      for (const link of ['Maintenance', 'Flags', 'Migrations', 'Upstreams', 'Audit'] as const) {
        await visit(tab.page, link)
        if (link === 'Maintenance') {
          await tab.page.frameLocator('iframe[title="Maintenance page as customers see it"]').locator('h1').waitFor()
        }
        if (link === 'Flags') {
          await tab.page.getByRole('button', { name: 'Edit', exact: true }).first().click()
        }
        if (link === 'Migrations') {
          await tab.page.evaluate((id) => { sessionStorage.setItem('drawbridge.rehearsal', id) }, rehearsalId)
          await tab.page.reload()
          await visit(tab.page, link)
          await tab.page.getByRole('region', { name: 'Rehearsed migrations' }).waitFor()
          await tab.page.getByRole('button', { name: 'Analyze pending migrations' }).click()
          await tab.page.getByRole('list', { name: 'Findings' }).first().waitFor()
        }
        await tab.page.waitForTimeout(400)
        const path = join(out, `${link.toLowerCase()}-${size}-${colorScheme}.png`)
        if (size === 'desktop') {
          // The whole page, through a viewport as tall as it: a fullPage capture leaves the preview frame blank.
          const height = await tab.page.evaluate(() => document.documentElement.scrollHeight)
          await tab.page.setViewportSize({ width: viewport.width, height })
          await tab.page.waitForTimeout(300)
          await tab.page.screenshot({ path })
          await tab.page.setViewportSize(viewport)
        } else {
          await tab.page.screenshot({ path })
        }
      }
      if (tab.errors.length > 0) console.error(`${size} ${colorScheme}: page errors`, tab.errors)
      await tab.context.close()
    }
  }
  // Palette PNGs are a third of the size and look the same for a UI (Debian's pngquant, when installed).
  const shots = readdirSync(out).filter((f) => f.endsWith('.png')).map((f) => join(out, f))
  const quant = spawnSync('pngquant', ['--quality=70-95', '--skip-if-larger', '--force', '--ext', '.png', ...shots])
  if (quant.error !== undefined) console.log('pngquant not installed: screenshots left as captured')
  console.log(`screenshots in ${out}`)
} finally {
  for (const fn of teardowns) await fn()
}
