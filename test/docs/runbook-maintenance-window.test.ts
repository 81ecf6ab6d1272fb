import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createDatabase, tempDir } from '../migrations/helpers.js'
import { ROOT, spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { blocks, check, secretOf, shell, TOKEN } from './runbook-shell.js'

// Every step spawns the CLI as a user would: slow on a loaded 2-core machine.
t.setTimeout(300_000)

// runbook-maintenance-window.md: its shell blocks run as written, in order (see runbook-shell.ts).
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
