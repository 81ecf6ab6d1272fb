import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { BIN, cleanEnv, ROOT, runDrawbridge, spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { createDatabase, tempDir, writeMigrations } from './helpers.js'

/*
 * Through the real binary: `drawbridge migrate rehearse` prints the table for
 * a change ticket; `migrate up --require-rehearsal` then runs the same files,
 * and while it holds the window the gateway's /__drawbridge/status carries
 * its progress with the rehearsal's estimate, and the page in a real browser
 * moves from "Step 1 of 2" to "Step 2 of 2" without a reload. pg_sleep makes
 * each step last long enough to be seen on a loaded machine.
 */

const TOKEN = 'e2e-admin-token-0123456789'
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

interface Status { maintenance: boolean, endsAt: string | null, progress: { step: number, of: number, current: string, etaSeconds: number | null } | null }

t.test('migrate rehearse prints the table; a run requiring it shows its progress on the gateway port and the page', async (t) => {
  const db = await createDatabase(t)
  const dir = await tempDir(t)
  const backupDir = join(await tempDir(t), 'backups')
  const upstream = await startUpstream(t, (_req, res) => { res.writeHead(200, { 'content-type': 'text/html' }).end('<title>the shop</title>') })
  await writeMigrations(dir, {
    '001_orders.sql': 'CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL);\nINSERT INTO orders SELECT g, g % 1000 FROM generate_series(1, 50000) g;\n'
  })
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--database-url', db.url, '--migrations-dir', dir, '--backup-dir', backupDir, '--admin-token', TOKEN])
  const env = { DRAWBRIDGE_ADMIN_URL: `http://${gw.admin}`, DRAWBRIDGE_ADMIN_TOKEN: TOKEN }
  t.equal((await runDrawbridge(['migrate', 'up'], env, 60_000)).code, 0)
  await writeMigrations(dir, {
    '002_orders_customer_bigint.sql': '-- drawbridge:maintenance\nALTER TABLE orders ALTER COLUMN customer_id TYPE bigint;\nSELECT pg_sleep(3);\n',
    '003_orders_note.sql': 'ALTER TABLE orders ADD COLUMN note text;\nSELECT pg_sleep(3);\n'
  })

  const refused = await runDrawbridge(['migrate', 'up', '--require-rehearsal'], env, 60_000)
  t.equal(refused.code, 1)
  t.match(refused.stderr, /No recent successful rehearsal of these migrations: 002_orders_customer_bigint, 003_orders_note .*\(HTTP 409, DRAWBRIDGE_ERR_REHEARSAL_REQUIRED\)/)

  // Launched while the rehearsal runs: the machine is busy either way.
  const launching = existsSync(CHROMIUM) ? chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }) : Promise.resolve(null)
  t.teardown(async () => { await (await launching)?.close() })
  const rehearsal = await runDrawbridge(['migrate', 'rehearse'], env, 90_000)
  t.comment(rehearsal.stdout)
  t.equal(rehearsal.code, 0, rehearsal.stderr)
  t.match(rehearsal.stdout, /Rehearsal \S+: SUCCEEDED in \S+ (s|ms) on a copy of the live database \(scratch database drawbridge_rehearsal_[0-9a-f]{12}, dropped\)/)
  t.match(rehearsal.stdout, /migration +line +ms +rewrote +locks \(held for\) +verdict/)
  t.match(rehearsal.stdout, /002_orders_customer_bigint +2 +\d+ +yes \(orders\) +orders AccessExclusiveLock \d+ ms +blocks reads and writes to orders for [\d.]+ s; rewrote orders/)
  t.match(rehearsal.stdout, /\n +3 +\d{4} +no +- *\n/, 'a lock is listed under the statement that took it (held until the transaction ends)')
  t.match(rehearsal.stdout, /003_orders_note +1 +\d+ +no +orders AccessExclusiveLock \d+ ms +blocks reads and writes to orders for [\d.]+ s\n/)
  t.match(rehearsal.stdout, /Migrations: 2 of 2 applied/)

  const browser: Browser | null = await launching
  const status = async (): Promise<Status> => await (await fetch(`http://${gw.gateway}/__drawbridge/status`)).json() as Status
  t.same((await status()).progress, null, 'no run: progress is null')

  const up = spawn(process.execPath, [BIN, 'migrate', 'up', '--require-rehearsal', '--maintenance', 'always'], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let upOut = ''
  up.stdout.setEncoding('utf8').on('data', (d: string) => { upOut += d })
  let exited = false
  const upExit = new Promise<number | null>((resolve) => { up.once('close', (code) => { exited = true; resolve(code) }) })
  const running = (): boolean => !exited
  const waitFor = async (ok: (s: Status) => boolean): Promise<Status> => {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && running();) {
      const s = await status()
      if (ok(s)) return s
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`status never matched; the run said:\n${upOut}`)
  }
  const first = await waitFor((s) => s.progress?.step === 1)
  t.match(first, { maintenance: true, progress: { step: 1, of: 2, current: '002_orders_customer_bigint', etaSeconds: Number } })
  t.ok(first.endsAt !== null && Date.parse(first.endsAt) > Date.now(), `the estimate is the window's endsAt (${first.endsAt ?? ''}, eta ${first.progress?.etaSeconds ?? ''} s)`)
  t.ok((first.progress?.etaSeconds ?? 0) >= 4 && (first.progress?.etaSeconds ?? 99) <= 30, 'about the rehearsal\'s two sleeps')

  if (browser !== null) {
    const tab = await browser.newPage()
    const errors: string[] = []
    tab.on('pageerror', (err) => errors.push(err.message))
    const page = await tab.goto(`http://${gw.gateway}/`)
    t.equal(page?.status(), 503)
    t.equal(await tab.textContent('#progress'), 'Step 1 of 2', 'rendered with the step')
    t.not(await tab.getAttribute('.eta', 'data-ends-at'), '', 'and the estimate shown')
    await tab.evaluate(() => { (window as unknown as { loadedOnce: boolean }).loadedOnce = true })
    await tab.waitForFunction(() => document.getElementById('progress')?.textContent === 'Step 2 of 2' && (window as unknown as { loadedOnce?: boolean }).loadedOnce === true, undefined, { timeout: 15_000 })
    t.pass('the page moved to step 2 without a reload')
    await tab.waitForFunction(() => document.title === 'the shop', undefined, { timeout: 20_000 })
    t.pass('and reloaded into the application once the run ended')
    t.same(errors, [])
  } else {
    const second = await waitFor((s) => s.progress?.step === 2)
    t.match(second, { progress: { step: 2, of: 2, current: '003_orders_note' } })
  }

  t.equal(await upExit, 0, upOut)
  t.match(upOut, /a rehearsal of these files took [\d.]+ s: the page shows that as the estimate/)
  t.match(await status(), { maintenance: false, progress: null })
  await gw.stop()
})
