import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createDatabase, tempDir } from '../migrations/helpers.js'
import { ROOT, spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { blocks, check, shell, TOKEN } from './runbook-shell.js'

// Every step spawns the CLI as a user would: slow on a loaded 2-core machine.
t.setTimeout(300_000)

// zero-downtime-deploys-with-flags.md: its shell blocks run as written, in order (see runbook-shell.ts).
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
