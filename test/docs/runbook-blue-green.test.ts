import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createDatabase, tempDir } from '../migrations/helpers.js'
import { ROOT, spawnGateway } from '../helpers/spawn-gateway.js'
import { hit, namedUpstream } from '../upstreams/helpers.js'
import { check, shell, TOKEN } from './runbook-shell.js'

// Every step spawns the CLI as a user would: slow on a loaded 2-core machine.
t.setTimeout(300_000)

// runbook-blue-green.md: its shell blocks run as written, in order (see runbook-shell.ts).
t.test('runbook-blue-green.md, every shell step of the release in order, with the doc\'s own migrations', async (t) => {
  const file = 'runbook-blue-green.md'
  const text = readFileSync(join(ROOT, 'docs', file), 'utf8')
  // The release's steps; the sections after it (a systemd restart, Kubernetes, raw API calls) name machines the test does not have.
  const release = text.slice(0, text.indexOf('\n## Restarting a single instance'))
  const db = await createDatabase(t, 'drawbridge_bluegreen_')
  // The schema v1 runs on, with customers verified or not.
  await db.query('CREATE TABLE customers (id bigserial PRIMARY KEY, email text, email_confirmed boolean NOT NULL DEFAULT false)')
  await db.query("INSERT INTO customers (email, email_confirmed) VALUES ('a@example.com', true), ('b@example.com', false)")
  const migrations = await tempDir(t)
  writeFileSync(join(migrations, '001_baseline.sql'), '-- the schema as deployed before this release\nSELECT 1;\n')
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await spawnGateway(t, ['--upstreams', `blue=${blue.url},green=${green.url}`, '--health-path', '/__health',
    '--admin-token', TOKEN, '--database-url', db.url, '--migrations-dir', migrations])
  const sh = await shell(t, gw)
  const traffic = async (n: number): Promise<string[]> => await Promise.all(Array.from({ length: n }, async () => (await hit(gw, '/shop')).upstream ?? '?'))

  // The doc's blocks in order: a ```sql block is written to the migrations/NNN_name.sql the text before it names, when the doc gets there
  // (the contract migration ships with a later release); a ```sh block runs.
  const fence = /^```(\w+)\n([\s\S]*?)^```$/gm
  let last = 0
  let steps = 0
  let files = 0
  for (const m of release.matchAll(fence)) {
    const [lang, code] = [m[1] as string, m[2] as string]
    const before = release.slice(last, m.index)
    last = (m.index ?? 0) + m[0].length
    if (lang === 'sql') {
      const name = [...before.matchAll(/`migrations\/(\d{3}_[\w-]+\.sql)`/g)].pop()?.[1]
      t.ok(name, `the sql block at offset ${m.index ?? 0} names its file`)
      writeFileSync(join(migrations, name as string), code)
      files++
      continue
    }
    if (lang !== 'sh') continue
    steps++
    const line = release.slice(0, m.index).split('\n').length
    if (code.includes('/metrics')) await traffic(20)
    await check(t, sh, { lang, code, line }, file)
    if (code.includes('migrate up --maintenance never')) {
      // The expand step: the flag is on, and the trigger keeps v1's and v2's writes visible to each other.
      t.match(JSON.parse((await sh.run('drawbridge flags get email-verified-at --json')).stdout), { enabled: true, requires: '002_customers_email_verified_at' }, 'activated by 002')
      await db.query("UPDATE customers SET email_confirmed = true WHERE email = 'b@example.com'")
      await db.query("INSERT INTO customers (email, email_verified_at) VALUES ('c@example.com', now())")
      const rows = await db.query<{ email: string, email_confirmed: boolean, verified: boolean }>('SELECT email, email_confirmed, email_verified_at IS NOT NULL AS verified FROM customers ORDER BY id')
      t.same(rows.map((r) => [r.email, r.email_confirmed, r.verified]), [['a@example.com', true, true], ['b@example.com', true, true], ['c@example.com', true, true]],
        'backfilled; a v1 write sets the date, a v2 write sets the boolean')
    }
    if (code.includes('canary green 50')) {
      const served = await traffic(10)
      t.ok(served.every((u) => u === served[0]), 'one client stays on one side during the canary')
    }
    if (/^drawbridge switch green/m.test(code)) t.same(new Set(await traffic(5)), new Set(['green']), 'after the switch, green serves')
    if (/^drawbridge switch blue/m.test(code)) {
      t.same(new Set(await traffic(5)), new Set(['blue']), 'the rollback sends traffic back to blue')
      const again = /Go again: `([^`]+)`/.exec(release)?.[1]
      t.ok(again, 'the doc says how to go again')
      t.equal((await sh.run(again as string)).status, 0, 'the doc\'s "go again" command')
    }
  }
  t.ok(steps >= 10, `${steps} shell blocks`)
  t.equal(files, 2, 'the expand and the contract migration')
  const routing = JSON.parse((await sh.run('drawbridge upstreams --json')).stdout) as { routing: { active: string, canary: unknown } }
  t.match(routing.routing, { active: 'green', canary: null }, 'the release ends on green')
  const columns = await db.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'customers' ORDER BY column_name")
  t.same(columns.map((c) => c.column_name), ['email', 'email_verified_at', 'id'], 'contracted: the old column is gone')
  t.same(await db.query("SELECT tgname FROM pg_trigger WHERE tgname = 'customers_email_sync'"), [], 'and so is the trigger')
  t.equal((await db.query('SELECT count(*)::int AS n FROM customers WHERE email_verified_at IS NOT NULL'))[0]?.n, 3, 'no verification was lost')
})
