import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import type { RehearsalMigration } from '../../src/migrations/rehearsal-types.js'
import { harness, runToEnd, writeMigrations, type TestDatabase } from './helpers.js'

/*
 * A rehearsal on a copy of a generated database (300k orders): the measured
 * figures must say what PostgreSQL's documentation says the statements do.
 * An int → bigint change rewrites the table under ACCESS EXCLUSIVE for about
 * its whole duration; ADD COLUMN … NULL takes the same lock for a moment and
 * rewrites nothing; CREATE INDEX CONCURRENTLY, outside a transaction, takes
 * no ACCESS EXCLUSIVE at all. And the live database is left as it was.
 */

const run = promisify(execFile)
const ROWS = 300_000

async function schemaDump (db: TestDatabase): Promise<string> {
  const { stdout } = await run('pg_dump', ['--schema-only', '--no-password', `--dbname=${db.url}`], { maxBuffer: 16 * 1024 * 1024 })
  // \restrict / \unrestrict carry a random key per dump (pg_dump's psql-meta-command guard): not part of the schema.
  return stdout.replace(/^\\(un)?restrict .*$/gm, '')
}

async function liveSnapshot (db: TestDatabase): Promise<unknown> {
  return {
    schema: await schemaDump(db),
    tracking: await db.query('SELECT * FROM drawbridge_migrations ORDER BY name'),
    runs: await db.query('SELECT id, status, steps, log FROM drawbridge_migration_runs ORDER BY id'),
    orders: await db.query('SELECT count(*)::int AS n, sum(customer_id)::bigint AS total FROM orders')
  }
}

function lock (m: RehearsalMigration | undefined, mode: string): { relation: string, mode: string, ms: number } | undefined {
  return m?.statements.flatMap((s) => s.locks).find((l) => l.relation === 'orders' && l.mode === mode)
}

t.test('a rehearsal measures rewrites and locks on a scratch copy, and leaves the live database as it was', async (t) => {
  const h = await harness(t, {
    '001_orders.sql': `CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, total numeric(10,2) NOT NULL);
INSERT INTO orders SELECT g, g % 5000, (g % 997) / 10.0 FROM generate_series(1, ${ROWS}) g;
`
  })
  const setup = await runToEnd(h)
  t.equal(setup.status, 'succeeded', setup.log.map((l) => l.msg).join('\n'))
  await writeMigrations(h.dir, {
    '002_orders_customer_bigint.sql': 'ALTER TABLE orders ALTER COLUMN customer_id TYPE bigint;\n',
    '003_orders_note.sql': '-- a nullable column without a default: a catalog change\nALTER TABLE orders ADD COLUMN note text NULL;\n',
    // An expression index: md5 per row makes the build last long enough to be sampled many times even on a busy machine.
    '004_orders_customer_index.sql': '-- drawbridge:no-transaction\nCREATE INDEX CONCURRENTLY orders_customer_idx ON orders (md5(customer_id::text));\n'
  })
  const before = await liveSnapshot(h.db)

  const started = Date.now()
  const { id } = await h.service.startRehearsal({}, 'test')
  t.match(h.service.rehearsals.get(id), { id, status: /queued|running/, source: 'live', keep: false })
  const r = await h.service.rehearsals.wait(id)
  t.comment(`rehearsal of ${ROWS} rows took ${Date.now() - started} ms`)
  t.equal(r?.status, 'succeeded', r?.log.map((l) => l.msg).join('\n') ?? 'vanished')
  if (r === null || r.status !== 'succeeded') return
  t.same(r.migrations.map((m) => [m.name, m.status]), [
    ['002_orders_customer_bigint', 'applied'], ['003_orders_note', 'applied'], ['004_orders_customer_index', 'applied']
  ])
  t.equal(r.pending, 3)
  t.same(r.findings, (await h.service.analyze()).findings, 'the same findings the analyzer gives for the pending files')
  const [bigint, note, index] = r.migrations
  for (const m of r.migrations) t.comment(`${m.name}: ${m.ms} ms; ${JSON.stringify(m.statements)}; ${m.verdict}`)

  const rewrite = bigint?.statements[0]
  t.match(rewrite, { line: 1, rewrote: true, rewritten: ['orders'] }, 'int → bigint rewrote orders')
  const exclusive = lock(bigint, 'AccessExclusiveLock')
  t.ok(exclusive, 'held ACCESS EXCLUSIVE on orders')
  // Not all of it: on a busy machine the backend may take the lock some ms after the client sent the statement.
  t.ok(rewrite !== undefined && exclusive !== undefined && exclusive.ms >= rewrite.ms * 0.6,
    `the lock was held for most of the statement (${exclusive?.ms} ms of ${rewrite?.ms} ms)`)
  t.ok(rewrite !== undefined && rewrite.ms >= 50, `a rewrite of ${ROWS} rows takes measurable time (${rewrite?.ms} ms)`)
  t.match(bigint?.verdict, /^blocks reads and writes to orders for \S+ (ms|s).*; rewrote orders$/)

  t.match(note?.statements[0], { line: 2, rewrote: false, rewritten: [] }, 'ADD COLUMN … NULL rewrote nothing')
  const brief = lock(note, 'AccessExclusiveLock')
  t.ok(brief, 'ADD COLUMN takes ACCESS EXCLUSIVE, if briefly')
  t.ok(brief !== undefined && note !== undefined && exclusive !== undefined && brief.ms <= note.ms + 1 && brief.ms < 1000 && brief.ms < exclusive.ms,
    `a short lock, within its short transaction (${brief?.ms} ms of ${note?.ms} ms, against ${exclusive?.ms} ms for the rewrite)`)

  t.equal(index?.noTransaction, true)
  t.same(index?.statements.flatMap((s) => s.locks).filter((l) => l.mode === 'AccessExclusiveLock'), [], 'CREATE INDEX CONCURRENTLY: no ACCESS EXCLUSIVE')
  t.ok(lock(index, 'ShareUpdateExclusiveLock'), 'seen holding SHARE UPDATE EXCLUSIVE while it built (observed from the second connection)')
  t.match(index?.verdict, /^blocks neither reads nor writes/)

  t.same(await liveSnapshot(h.db), before, 'live: schema dump, tracking table, runs and data unchanged')
  t.same(await h.db.query('SELECT 1 FROM pg_database WHERE datname = $1', [r.database]), [], 'the scratch database is gone')
  t.equal(r.dropped, true)
  t.match(r.database, /^drawbridge_rehearsal_[0-9a-f]{12}$/)
})
