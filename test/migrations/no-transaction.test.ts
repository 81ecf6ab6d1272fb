import pg from 'pg'
import t from 'tap'
import { appliedNames, harness, runToEnd, writeMigrations } from './helpers.js'

async function indexes (query: (sql: string) => Promise<Array<Record<string, unknown>>>): Promise<Array<{ name: string, valid: boolean }>> {
  const rows = await query(`SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = 'accounts' ORDER BY c.relname`)
  return rows as Array<{ name: string, valid: boolean }>
}

t.test('-- drawbridge:no-transaction runs CREATE INDEX CONCURRENTLY, statement by statement', async (t) => {
  const h = await harness(t, {
    '001_accounts.sql': 'CREATE TABLE accounts (id int PRIMARY KEY, email text);\nINSERT INTO accounts SELECT g, \'u\' || g FROM generate_series(1, 100) g;\n',
    '002_index.sql': '-- drawbridge:no-transaction\nCREATE INDEX CONCURRENTLY accounts_email ON accounts (email);\nCREATE INDEX CONCURRENTLY accounts_id_email ON accounts (id, email);\n'
  })
  const run = await runToEnd(h)
  t.equal(run.status, 'succeeded', run.log.map((l) => l.msg).join('\n'))
  t.match(run.log.map((l) => l.msg).join('\n'), /002_index: applying \(2 statement\(s\), without a transaction\)/)
  t.same(await indexes(h.db.query), [
    { name: 'accounts_email', valid: true }, { name: 'accounts_id_email', valid: true }, { name: 'accounts_pkey', valid: true }
  ])
  t.same(await appliedNames(h.db), ['001_accounts', '002_index'])
  t.match(run.findings, [{ migration: '002_index', rule: 'no-transaction-multiple-statements', severity: 'low', line: 3 }])
})

t.test('an invalid index left by a failed CREATE INDEX CONCURRENTLY is reported and dropped', async (t) => {
  const h = await harness(t, {
    '001_accounts.sql': 'CREATE TABLE accounts (id int PRIMARY KEY, email text);\nINSERT INTO accounts VALUES (1, \'dup\'), (2, \'dup\');\n',
    '002_unique.sql': '-- drawbridge:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email);\n',
    '003_after.sql': 'CREATE TABLE after (id int);\n'
  })
  const run = await runToEnd(h)
  t.equal(run.status, 'failed')
  t.match(run.steps.find((s) => s.name === '002_unique'), { status: 'failed', detail: /002_unique line 2: could not create unique index.*23505/ })
  t.match(run.steps.find((s) => s.name === '003_after'), { status: 'skipped' })
  t.match(run.log.map((l) => l.msg).join('\n'), /invalid index public\.accounts_email_key left by a failed CREATE INDEX CONCURRENTLY; dropping it/)
  t.same(await indexes(h.db.query), [{ name: 'accounts_pkey', valid: true }], 'the invalid index is gone')
  t.same(await appliedNames(h.db), ['001_accounts'])
})

t.test('an invalid index left by a runner that died is dropped before the migration runs again', async (t) => {
  const h = await harness(t, {
    '001_accounts.sql': 'CREATE TABLE accounts (id int PRIMARY KEY, email text);\nINSERT INTO accounts VALUES (1, \'dup\'), (2, \'dup\');\n'
  })
  t.equal((await runToEnd(h)).status, 'succeeded')
  // A CREATE INDEX CONCURRENTLY that failed outside our control (the runner was killed).
  const other = new pg.Client({ connectionString: h.db.url })
  await other.connect()
  await other.query('CREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email)').catch(() => {})
  await other.query("UPDATE accounts SET email = 'other' WHERE id = 2")
  await other.end()
  t.same(await indexes(h.db.query), [{ name: 'accounts_email_key', valid: false }, { name: 'accounts_pkey', valid: true }])

  await writeMigrations(h.dir, { '002_unique.sql': '-- drawbridge:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY accounts_email_key ON accounts (email);\n' })
  const run = await runToEnd(h)
  t.equal(run.status, 'succeeded', run.log.map((l) => l.msg).join('\n'))
  t.match(run.log.map((l) => l.msg).join('\n'), /dropped invalid index\(es\) public\.accounts_email_key/)
  t.same(await indexes(h.db.query), [{ name: 'accounts_email_key', valid: true }, { name: 'accounts_pkey', valid: true }])
})

t.test('CONCURRENTLY in a transactional migration: a finding, and a clean failure', async (t) => {
  const h = await harness(t, {
    '001_accounts.sql': 'CREATE TABLE accounts (id int PRIMARY KEY, email text);\n',
    '002_oops.sql': 'CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);\n'
  })
  // The analyzer knows it cannot succeed (high): refused unless forced, then PostgreSQL refuses it.
  const refused = await runToEnd(h)
  t.match(refused.findings, [{ migration: '002_oops', rule: 'ban-concurrent-index-creation-in-transaction', severity: 'high', line: 1 }])
  t.equal(refused.status, 'failed')
  t.same(await appliedNames(h.db), [], 'nothing applied')
  const run = await runToEnd(h, { allowDangerous: true })
  t.equal(run.status, 'failed')
  t.match(run.steps.find((s) => s.name === '002_oops')?.detail, /cannot run inside a transaction block/)
  t.same(await appliedNames(h.db), ['001_accounts'])
})
