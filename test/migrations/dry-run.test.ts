import t from 'tap'
import { appliedNames, harness, runToEnd, type TestDatabase } from './helpers.js'

/** Every user-visible object and the tracking table's contents. */
async function fingerprint (db: TestDatabase): Promise<unknown> {
  const objects = await db.query(
    `SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' ORDER BY c.relname`)
  const columns = await db.query(
    `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
     WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`)
  const tracking = await db.query('SELECT name, checksum, applied_at, run_id FROM drawbridge_migrations ORDER BY name')
  const rows = await db.query('SELECT * FROM items ORDER BY id')
  return { objects, columns, tracking, rows }
}

t.test('a dry run executes each pending migration, reports timings, and leaves nothing behind', async (t) => {
  const h = await harness(t, {
    '001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY, name text);\nINSERT INTO items VALUES (1, \'one\'), (2, \'two\');\n'
  })
  t.equal((await runToEnd(h)).status, 'succeeded')

  await import('node:fs/promises').then(async (fs) => {
    await fs.writeFile(`${h.dir}/002_tags.sql`, '-- drawbridge:activates tags\nCREATE TABLE tags (id int);\nALTER TABLE items ADD COLUMN tag_id int;\nUPDATE items SET name = upper(name) WHERE id = 1;\n')
    await fs.writeFile(`${h.dir}/003_uses_tags.sql`, 'INSERT INTO tags VALUES (42);\n')
    await fs.writeFile(`${h.dir}/004_index.sql`, '-- drawbridge:no-transaction\nCREATE INDEX CONCURRENTLY items_name ON items (name);\n')
    await fs.writeFile(`${h.dir}/005_more.sql`, 'CREATE TABLE more (id int);\n')
  })

  const before = await fingerprint(h.db)
  const run = await runToEnd(h, { dryRun: true, maintenance: 'always', backup: true })
  t.equal(run.status, 'succeeded', run.log.map((l) => l.msg).join('\n'))
  const steps = Object.fromEntries(run.steps.map((s) => [s.name, s]))
  t.match(steps['002_tags'], { kind: 'migration', status: 'rolled-back', detail: /executed in \d+ ms, then rolled back/ })
  t.ok(typeof steps['002_tags']?.durationMs === 'number')
  t.match(steps['003_uses_tags'], { status: 'rolled-back' }, 'later migrations see earlier ones inside the dry run')
  t.match(steps['004_index'], { status: 'skipped', detail: /not dry-runnable/ })
  t.match(steps['005_more'], { status: 'rolled-back' })
  t.notOk(run.steps.some((s) => s.kind === 'maintenance' || s.kind === 'backup' || s.kind === 'flag'), 'no window, no backup, no flag in a dry run')
  t.match(run.log.map((l) => l.msg).join('\n'), /would enable flag tags, which does not exist/)

  t.same(await fingerprint(h.db), before, 'schema, data and tracking table unchanged')
  t.same(await appliedNames(h.db), ['001_items'])
  t.equal((await h.ctx.store.load()).maintenance.enabled, false)
  t.same((await h.service.status()).pending.map((p) => p.name), ['002_tags', '003_uses_tags', '004_index', '005_more'])
})

t.test('a dry run reports the migration that would fail, and stops there', async (t) => {
  const h = await harness(t, {
    '001_ok.sql': 'CREATE TABLE ok (id int);\n',
    '002_bad.sql': 'CREATE TABLE bad (id int);\n\nINSERT INTO missing_table VALUES (1);\n',
    '003_after.sql': 'CREATE TABLE after (id int);\n'
  })
  const run = await runToEnd(h, { dryRun: true })
  t.equal(run.status, 'failed')
  t.same(run.steps.map((s) => [s.name, s.status]), [['001_ok', 'rolled-back'], ['002_bad', 'failed'], ['003_after', 'skipped']])
  t.match(run.steps[1]?.detail, /002_bad line 3: relation "missing_table" does not exist \(SQLSTATE 42P01\)/)
  t.same(await appliedNames(h.db), [])
  const tables = await h.db.query("SELECT relname FROM pg_class WHERE relname IN ('ok', 'bad', 'after')")
  t.same(tables, [], 'nothing left behind')
})
