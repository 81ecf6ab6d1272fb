import { execFile } from 'node:child_process'
import { readdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { appliedNames, createDatabase, harness, runToEnd } from './helpers.js'

const run = promisify(execFile)

t.test('backup: true takes a pg_dump -Fc first; pg_restore into a fresh database gives back the data as it was', async (t) => {
  const h = await harness(t, {
    '001_customers.sql': "CREATE TABLE customers (id int PRIMARY KEY, name text, note text);\nINSERT INTO customers VALUES (1, 'Ada', 'first'), (2, 'Grace', 'second'), (3, 'Édith', NULL);\n"
  })
  t.equal((await runToEnd(h)).status, 'succeeded')
  const before = await h.db.query('SELECT * FROM customers ORDER BY id')

  const { writeFile } = await import('node:fs/promises')
  await writeFile(`${h.dir}/002_drop_note.sql`, '-- drawbridge:maintenance\nALTER TABLE customers DROP COLUMN note;\nDELETE FROM customers WHERE id = 2;\n')
  const migrated = await runToEnd(h, { backup: true })
  t.equal(migrated.status, 'succeeded', migrated.log.map((l) => l.msg).join('\n'))
  t.ok(migrated.backup, 'the run records its backup')
  const backup = migrated.backup as { file: string, sizeBytes: number }
  t.equal(dirname(backup.file), h.backupDir, 'written to the backup directory, created when missing')
  t.equal((await stat(backup.file)).size, backup.sizeBytes)
  t.ok(backup.sizeBytes > 0)
  const steps = migrated.steps.map((s) => `${s.kind}:${s.name}`)
  t.ok(steps.indexOf('backup:pg_dump') < steps.indexOf('migration:002_drop_note'), 'backup before the first migration')

  const status = await h.service.status()
  t.match(status.backup, { file: backup.file, sizeBytes: backup.sizeBytes, runId: migrated.id, exists: true, restore: /^pg_restore .*--dbname='postgres:\/\/[^:@]+@127\.0\.0\.1:5432\/drawbridge_test_\w+' .*\.dump$/ })

  const fresh = await createDatabase(t, 'drawbridge_restore_')
  await run('pg_restore', ['--no-owner', `--dbname=${fresh.url}`, backup.file])
  t.same(await fresh.query('SELECT * FROM customers ORDER BY id'), before, 'table contents as before the migration')
  t.same((await fresh.query<{ name: string }>('SELECT name FROM drawbridge_migrations ORDER BY name')).map((r) => r.name), ['001_customers'])
  t.same((await h.db.query('SELECT * FROM customers ORDER BY id')).length, 2, 'while the live database moved on')
})

t.test('a missing or failing pg_dump refuses to start: nothing applied, no window opened', async (t) => {
  const missing = await harness(t, { '001_a.sql': '-- drawbridge:maintenance\nCREATE TABLE a (id int);\n' }, { pgDump: '/nonexistent/pg_dump' })
  const r1 = await runToEnd(missing, { backup: true })
  t.equal(r1.status, 'failed')
  t.match(r1.error, { code: 'DRAWBRIDGE_ERR_DATABASE', message: /backup failed, nothing was applied: \/nonexistent\/pg_dump not found/ })
  t.match(r1.steps.find((s) => s.kind === 'backup'), { status: 'failed' })
  t.same(await appliedNames(missing.db), [])
  t.equal((await missing.ctx.store.load()).maintenance.enabled, false)

  const failing = await harness(t, { '001_a.sql': 'CREATE TABLE a (id int);\n' }, { pgDump: 'false' })
  const r2 = await runToEnd(failing, { backup: true })
  t.equal(r2.status, 'failed')
  t.match(r2.error?.message, /false exited with code 1/)
  t.same(await appliedNames(failing.db), [])
  t.same(await readdir(failing.backupDir), [], 'no partial file left')
})
