import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { appliedNames, harness, runToEnd, tableNames, writeMigrations } from './helpers.js'

t.test('applies *.sql in name order, one step at a time, and records each with its checksum', async (t) => {
  const h = await harness(t, {
    '002_orders.sql': 'CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customers (id));\n',
    '001_customers.sql': 'CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL);\n',
    '010_note.sql': 'ALTER TABLE orders ADD COLUMN note text;\n',
    'README.md': 'not a migration'
  })

  const status = await h.service.status()
  t.same(status.pending.map((p) => p.name), ['001_customers', '002_orders', '010_note'], 'pending in name order, only *.sql')
  t.same(status.applied, [])

  const first = await runToEnd(h, { step: 1 })
  t.equal(first.status, 'succeeded')
  t.same(await appliedNames(h.db), ['001_customers'], 'step 1 applies exactly one')
  t.same(first.steps.filter((s) => s.kind === 'migration').map((s) => [s.name, s.status]), [['001_customers', 'succeeded']])
  t.ok((first.steps[0]?.durationMs ?? -1) >= 0, 'the step has a duration')

  const rest = await runToEnd(h, { step: 5 })
  t.equal(rest.status, 'succeeded')
  t.same(await appliedNames(h.db), ['001_customers', '002_orders', '010_note'], '002 depends on 001 and ran after it')
  t.same(await tableNames(h.db), ['customers', 'drawbridge_migration_runs', 'drawbridge_migrations', 'orders'])

  const rows = await h.db.query<{ name: string, checksum: string, applied_by: string, run_id: string, duration_ms: number }>(
    'SELECT name, checksum, applied_by, run_id, duration_ms FROM drawbridge_migrations ORDER BY name')
  t.match(rows[0], { name: '001_customers', checksum: /^[0-9a-f]{64}$/, applied_by: 'test', run_id: first.id })
  t.equal(rows[2]?.run_id, rest.id)

  const again = await runToEnd(h)
  t.equal(again.status, 'succeeded')
  t.match(again.log.map((l) => l.msg).join('\n'), /nothing to apply/)

  const after = await h.service.status()
  t.same(after.pending, [])
  t.same(after.applied.map((a) => a.name), ['001_customers', '002_orders', '010_note'])
  t.equal(after.lastRun?.id, again.id)
  t.equal(after.locked, false)
})

t.test('a changed applied file is drifted and blocks runs with 409 until restored', async (t) => {
  const original = 'CREATE TABLE a (id int);\n'
  const h = await harness(t, { '001_a.sql': original })
  t.equal((await runToEnd(h)).status, 'succeeded')

  // Line endings alone are not drift (a CRLF checkout of the same file).
  await writeFile(join(h.dir, '001_a.sql'), original.replace(/\n/g, '\r\n'))
  t.same((await h.service.status()).drifted, [])

  await writeFile(join(h.dir, '001_a.sql'), 'CREATE TABLE a (id bigint);\n')
  await writeMigrations(h.dir, { '002_b.sql': 'CREATE TABLE b (id int);\n' })
  const status = await h.service.status()
  t.same(status.drifted.map((d) => d.name), ['001_a'])
  t.ok(status.applied.find((a) => a.name === '001_a')?.drifted)
  await t.rejects(h.service.startRun({}, 'test'), { code: 'DRAWBRIDGE_ERR_MIGRATION_DRIFT', statusCode: 409, message: /001_a/ })
  await t.rejects(h.service.startRun({ dryRun: true }, 'test'), { code: 'DRAWBRIDGE_ERR_MIGRATION_DRIFT' }, 'dry runs too')
  t.same(await appliedNames(h.db), ['001_a'], 'nothing ran')
  t.equal((await h.service.status()).locked, false, 'the refused run released the lock')

  await writeFile(join(h.dir, '001_a.sql'), original)
  const run = await runToEnd(h)
  t.equal(run.status, 'succeeded')
  t.same(await appliedNames(h.db), ['001_a', '002_b'])
})

t.test('an unreachable database is a clear 503 before anything starts', async (t) => {
  const h = await harness(t, { '001_a.sql': 'SELECT 1;' })
  const { MigrationService } = await import('../../src/migrations/migration-service.js')
  const dead = new MigrationService(h.ctx, { databaseUrl: 'postgres://postgres@127.0.0.1:1/nowhere', migrationsDir: h.dir, backupDir: h.backupDir })
  t.teardown(async () => { await dead.close() })
  await t.rejects(dead.startRun({}, 'test'), { code: 'DRAWBRIDGE_ERR_DATABASE', statusCode: 503, message: /ECONNREFUSED|connect/ })
  await t.rejects(dead.status(), { code: 'DRAWBRIDGE_ERR_DATABASE' })
})

t.test('a missing migrations directory says so', async (t) => {
  const h = await harness(t)
  const { MigrationService } = await import('../../src/migrations/migration-service.js')
  const svc = new MigrationService(h.ctx, { databaseUrl: h.db.url, migrationsDir: join(h.dir, 'nope'), backupDir: h.backupDir })
  t.teardown(async () => { await svc.close() })
  await t.rejects(svc.status(), { code: 'DRAWBRIDGE_ERR_NOT_CONFIGURED', message: /does not exist/ })
})
