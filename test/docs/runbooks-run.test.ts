import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createDatabase, tempDir } from '../migrations/helpers.js'
import { BIN, ROOT, spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { hit, namedUpstream } from '../upstreams/helpers.js'

/*
 * The runbooks' shell blocks, run as written against a real gateway, upstream
 * and database, in document order, so a doc step that stops working fails
 * here. The only rewrite is the example host (https://shop.example.com) to the
 * gateway's address. Expectations come from the docs' own comments: a
 * trailing `# 503 ...`/`# 302` after a curl that prints the status, and a
 * `# drawbridge: <error>` line for a step the doc says is refused.
 */

const TOKEN = 'runbook-admin-token-0123456789'
// Every step spawns the CLI as a user would: slow on a loaded 2-core machine.
t.setTimeout(300_000)
const SHOP = 'https://shop.example.com'

interface Block { lang: string, code: string, line: number }

function blocks (file: string): Block[] {
  const text = readFileSync(join(ROOT, 'docs', file), 'utf8')
  const out: Block[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i] as string)
    if (open === null) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !(lines[i] as string).startsWith('```'); i++) body.push(lines[i] as string)
    out.push({ lang: open[1] as string, code: body.join('\n'), line: start + 1 })
  }
  return out
}

interface Result { status: number | null, stdout: string, stderr: string }
interface Shell { run: (code: string) => Promise<Result>, env: Record<string, string> }

async function shell (t: Test, gw: SpawnedGateway): Promise<Shell> {
  const dir = await tempDir(t, 'drawbridge-runbook-')
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  // `drawbridge` on PATH, as after `npm install -g` or inside the image.
  writeFileSync(join(bin, 'drawbridge'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(bin, 'drawbridge'), 0o755)
  const env: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: dir,
    DRAWBRIDGE_ADMIN_URL: `http://${gw.admin}`,
    DRAWBRIDGE_ADMIN_TOKEN: TOKEN
  }
  return {
    env,
    // Asynchronous on purpose: the upstream lives in this process and must keep answering while a step runs.
    async run (code) {
      const script = code.replaceAll(SHOP, `http://${gw.gateway}`)
      const child = spawn('bash', ['-o', 'pipefail', '-c', script], { cwd: dir, env, timeout: 60_000 })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
      const status = await new Promise<number | null>((resolve) => { child.once('close', resolve) })
      return { status, stdout, stderr }
    }
  }
}

/** Runs one block and checks it against what the doc says around it. */
async function check (t: Test, sh: Shell, block: Block, file: string): Promise<string> {
  const label = `${file}:${block.line}`
  const refusal = /^# (drawbridge: .*)$/m.exec(block.code)?.[1]
  const r = await sh.run(block.code)
  if (refusal !== undefined) {
    t.equal(r.status, 1, `${label}: refused as the doc says`)
    t.equal(r.stderr.trim(), refusal, `${label}: with the doc's message`)
  } else {
    t.equal(r.status, 0, `${label}: exits 0\n${r.stdout}${r.stderr}`)
  }
  // `curl ... -w '%{http_code}...' URL   # 302` → that status is printed.
  const codes = [...block.code.matchAll(/-w '%\{http_code\}[^\n]*?#\s*(\d{3})\b/g), ...block.code.matchAll(/-w '%\{http_code\}[^\n]*\n# (\d{3})\b/g)].map((m) => m[1])
  for (const code of codes) t.match(r.stdout, new RegExp(`${code ?? ''}(\\s|$)`), `${label}: prints ${code ?? ''}`)
  return r.stdout
}

async function secretOf (gw: SpawnedGateway): Promise<string> {
  const res = await fetch(`http://${gw.admin}/v1/maintenance`, { headers: { authorization: `Bearer ${TOKEN}` } })
  return ((await res.json()) as { secret: string }).secret
}

t.test('runbook-maintenance-window.md, every shell step in order', async (t) => {
  const file = 'runbook-maintenance-window.md'
  const db = await createDatabase(t, 'drawbridge_runbook_')
  await db.query('CREATE TABLE customers (id bigserial PRIMARY KEY, name text)')
  const migrations = await tempDir(t)
  writeFileSync(join(migrations, '001_add_note.sql'), 'ALTER TABLE customers ADD COLUMN note text;\n')
  const backups = await tempDir(t)
  const seen: string[] = []
  const upstream = await startUpstream(t, (req, res) => { seen.push(req.url ?? ''); res.end(`app ${req.url ?? ''}`) })
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--database-url', db.url,
    '--migrations-dir', migrations, '--backup-dir', backups])
  const sh = await shell(t, gw)
  const steps = blocks(file).filter((b) => b.lang === 'sh')
  t.ok(steps.length >= 8, `${steps.length} shell blocks`)

  const doc = readFileSync(join(ROOT, 'docs', file), 'utf8')
  const now = /Need it now rather than at a set time\? `([^`]+)`/.exec(doc)?.[1]
  t.ok(now, 'the "Need it now" command is in the doc')
  for (const step of steps) {
    // Step 2 assumes the scheduled window has opened; the doc's own "Need it now" command opens it.
    if (step.code.includes('retry-after=')) {
      t.equal((await sh.run(now as string)).status, 0, 'the doc\'s "Need it now" command')
    }
    if (step.code.includes('$SECRET')) sh.env.SECRET = await secretOf(gw)
    const out = await check(t, sh, step, file)
    if (step.code.startsWith('drawbridge maintenance on \\')) {
      t.match(out, /Maintenance is SCHEDULED to start in (23 h|1 d|24 h)/, 'the example schedules a window in the future')
    }
    if (step.code.includes('X-Drawbridge-Bypass')) t.match(out, /app \/orders/, 'the tester gets through with the cookie')
  }
  const final = await sh.run('drawbridge maintenance status --json')
  t.match(JSON.parse(final.stdout), { enabled: false, secret: null }, 'the runbook ends with maintenance off and the secret cleared')
  const tables = await db.query<{ column_name: string }>("SELECT column_name FROM information_schema.columns WHERE table_name = 'customers'")
  t.ok(tables.some((c) => c.column_name === 'note'), 'the migration step applied the migration')
})

t.test('zero-downtime-deploys-with-flags.md, every shell step in order, with the doc\'s own migrations', async (t) => {
  const file = 'zero-downtime-deploys-with-flags.md'
  const db = await createDatabase(t, 'drawbridge_zdd_')
  // The application's schema before the release the guide walks through.
  await db.query('CREATE TABLE customers (id bigserial PRIMARY KEY); CREATE TABLE orders (id bigserial PRIMARY KEY, total numeric)')
  const migrations = await tempDir(t)
  const text = readFileSync(join(ROOT, 'docs', file), 'utf8')
  // Each ```sql block follows a line naming its file: `migrations/NNN_name.sql`.
  for (const m of text.matchAll(/`migrations\/(\d{3}_[\w-]+\.sql)`[^\n]*(?:\n(?!```)[^\n]*)*\n```sql\n([\s\S]*?)```/g)) {
    writeFileSync(join(migrations, m[1] as string), m[2] as string)
  }
  writeFileSync(join(migrations, '001_baseline.sql'), '-- the schema as deployed before this release\nSELECT 1;\n')
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--database-url', db.url, '--migrations-dir', migrations])
  const sh = await shell(t, gw)
  const steps = blocks(file).filter((b) => b.lang === 'sh')
  t.ok(steps.length >= 5, `${steps.length} shell blocks`)
  for (const step of steps) await check(t, sh, step, file)
  const flag = JSON.parse((await sh.run('drawbridge flags get orders-by-customer --json')).stdout) as { enabled: boolean, requires: string }
  t.match(flag, { enabled: false, requires: '004_orders_customer_fk_validate' }, 'the guide ends with the rollback step: the flag off, its requirement kept')
  const applied = await db.query<{ indexname: string }>("SELECT indexname FROM pg_indexes WHERE tablename = 'orders'")
  t.ok(applied.some((i) => i.indexname === 'orders_customer_id_idx'), 'the online migrations ran')
})

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
