import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { Test } from 'tap'
import { request } from 'undici'
import { ROOT } from '../helpers/spawn-gateway.js'

/*
 * The console in a real browser: Debian's chromium driven by playwright-core,
 * one browser per test file, a fresh context (cookies) per role.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const ADMIN = 'console-admin-token-0123456789'
export const READ = 'console-read-token-0123456789'

export async function launch (t: Pick<Test, 'teardown'>): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  t.teardown(async () => { await browser.close() })
  return browser
}

export interface ConsoleTab {
  context: BrowserContext
  page: Page
  /** Uncaught page errors and console errors seen so far. */
  errors: string[]
}

/** A new context at `viewport`, with the console open (signed in with `token` unless null). */
export async function openConsole (browser: Browser, admin: string, token: string | null, options: { viewport?: { width: number, height: number }, colorScheme?: 'light' | 'dark' } = {}): Promise<ConsoleTab> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 }, colorScheme: options.colorScheme ?? 'light', reducedMotion: 'reduce' })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  // Expected: API refusals the console shows to the operator (4xx: validation, 409, the rehearsal probe's 404), and the preview's own script, which its sandbox stops.
  page.on('console', (msg) => { if (msg.type() === 'error' && !/status of 4\d\d|sandboxed/.test(msg.text())) errors.push(msg.text()) })
  await page.goto(`http://${admin}/ui/`)
  if (token !== null) await signIn(page, token)
  return { context, page, errors }
}

export async function signIn (page: Page, token: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Token' }).fill(token)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('link', { name: 'Maintenance' }).waitFor()
}

/** Goes to a page by its navigation link and waits for its heading. */
export async function visit (page: Page, link: 'Maintenance' | 'Flags' | 'Migrations' | 'Upstreams' | 'Audit'): Promise<void> {
  await page.getByRole('navigation').getByRole('link', { name: link, exact: true }).click()
  await page.getByRole('heading', { level: 1, name: link === 'Audit' ? 'Audit log' : link }).waitFor()
}

const AXE = readFileSync(join(ROOT, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8')

export interface AxeViolation { id: string, impact: string | null, help: string, nodes: Array<{ target: string[] }> }

/**
 * axe-core's serious and critical violations on the page as it is now (WCAG
 * 2.x A and AA, and best practices). The console's CSP refuses an injected
 * <script> (page.addScriptTag), as it should, so axe is evaluated through the
 * DevTools protocol instead, which the page's CSP does not govern.
 */
export async function seriousViolations (page: Page): Promise<AxeViolation[]> {
  if (!await page.evaluate(() => 'axe' in window)) await page.evaluate(AXE)
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: unknown) => Promise<{ violations: AxeViolation[] }> } }).axe
    const result = await axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }))
  })
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

const CONTROL = /^\s*- (button|switch|textbox|searchbox|spinbutton|combobox|checkbox|radio|slider) "([^"]*)"(.*)$/

/** The controls on the page a user can operate now (not disabled), as `role "name"`, from the accessibility tree. */
export async function enabledControls (page: Page): Promise<string[]> {
  const tree = await page.locator('body').ariaSnapshot()
  return tree.split('\n').flatMap((line) => {
    const m = CONTROL.exec(line)
    return m === null || (m[3] ?? '').includes('[disabled]') ? [] : [`${m[1] as string} "${m[2] as string}"`]
  })
}

/** The admin API, with a bearer token: how the tests check what the console did. */
export async function api<T = any> (admin: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number, json: T }> {
  const res = await request(`http://${admin}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.body.text()
  return { status: res.statusCode, json: (text === '' ? null : JSON.parse(text)) as T }
}

/** Polls `check` until it holds (or `ms` pass), for state the console writes asynchronously. */
export async function eventually<T> (check: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms
  let last = await check()
  while (!ok(last) && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    last = await check()
  }
  return last
}
