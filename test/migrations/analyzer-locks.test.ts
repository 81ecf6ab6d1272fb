import pg from 'pg'
import t from 'tap'
import { FileState, LOCK_NAMES, LockMode } from '../../src/migrations/analyzer-state.js'
import { locksTaken } from '../../src/migrations/analyzer-transactions.js'
import { loadParser, splitStatements } from '../../src/migrations/sql-statements.js'
import { clients } from './analyzer-helpers.js'
import { createDatabase } from './helpers.js'

/**
 * The lock levels the analyzer assumes (it reasons about what a transaction
 * holds from them) against what PostgreSQL really holds: each statement runs
 * in an open transaction and a second connection reads pg_locks.
 */

const SCHEMA = `
CREATE TABLE accounts (id int PRIMARY KEY, email text, plan text, n int, note text);
CREATE TABLE orders (id int PRIMARY KEY, account_id int);
CREATE INDEX accounts_email_idx ON accounts (email);
ALTER TABLE orders ADD CONSTRAINT orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts NOT VALID;
ALTER TABLE accounts ADD CONSTRAINT n_positive CHECK (n > 0) NOT VALID;
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER accounts_noop BEFORE UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION noop();
CREATE TABLE events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2024 (id int, at date);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n FROM orders;
`

const STATEMENTS = [
  'ALTER TABLE accounts ADD COLUMN region text',
  'ALTER TABLE accounts ALTER COLUMN plan SET DEFAULT \'free\'',
  'ALTER TABLE accounts ALTER COLUMN plan SET NOT NULL',
  'ALTER TABLE accounts ALTER COLUMN plan TYPE varchar',
  'ALTER TABLE accounts DROP COLUMN note',
  'ALTER TABLE accounts ADD CONSTRAINT plan_set CHECK (plan IS NOT NULL) NOT VALID',
  'ALTER TABLE accounts VALIDATE CONSTRAINT n_positive',
  'ALTER TABLE orders ADD CONSTRAINT orders_account_fk2 FOREIGN KEY (account_id) REFERENCES accounts NOT VALID',
  'ALTER TABLE orders VALIDATE CONSTRAINT orders_account_fk',
  'ALTER TABLE accounts ALTER COLUMN email SET STATISTICS 200',
  'ALTER TABLE accounts SET (fillfactor = 80)',
  'ALTER TABLE accounts CLUSTER ON accounts_pkey',
  'ALTER TABLE accounts DISABLE TRIGGER accounts_noop',
  'ALTER TABLE events_2024 SET UNLOGGED',
  'ALTER TABLE accounts RENAME COLUMN note TO remark',
  'ALTER TABLE accounts RENAME TO customers',
  'ALTER TABLE events ATTACH PARTITION events_2024 FOR VALUES FROM (\'2024-01-01\') TO (\'2025-01-01\')',
  'ALTER TABLE events DETACH PARTITION events_2023',
  'CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM (\'2025-01-01\') TO (\'2026-01-01\')',
  'CREATE INDEX accounts_plan_idx ON accounts (plan)',
  'CREATE TRIGGER accounts_noop2 BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION noop()',
  'TRUNCATE orders',
  'DROP TABLE events_2024',
  'LOCK TABLE accounts IN SHARE MODE',
  'LOCK TABLE accounts',
  'REFRESH MATERIALIZED VIEW totals',
  'CLUSTER accounts USING accounts_pkey',
  'REINDEX TABLE accounts'
]

const MODES = new Map<string, LockMode>([
  ['AccessShareLock', LockMode.AccessShare], ['RowShareLock', LockMode.RowShare], ['RowExclusiveLock', LockMode.RowExclusive],
  ['ShareUpdateExclusiveLock', LockMode.ShareUpdateExclusive], ['ShareLock', LockMode.Share],
  ['ShareRowExclusiveLock', LockMode.ShareRowExclusive], ['ExclusiveLock', LockMode.Exclusive], ['AccessExclusiveLock', LockMode.AccessExclusive]
])

t.test('the analyzer\'s lock levels are the ones PostgreSQL takes', async (t) => {
  await loadParser()
  const db = await createDatabase(t)
  const [runner, observer] = await clients(t, db.url, 2) as [pg.Client, pg.Client]
  await runner.query(SCHEMA)
  const pid = (await runner.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number
  for (const sql of STATEMENTS) {
    const node = splitStatements(sql)[0]?.node
    if (node === null || node === undefined) throw new Error(`does not parse: ${sql}`)
    const expected = new Map(locksTaken(node, new FileState(true)).map((l) => [l.table.replace(/^public\./, ''), LOCK_NAMES[l.mode]]))
    await runner.query('BEGIN')
    try {
      await runner.query(sql)
      const { rows } = await observer.query<{ relname: string, mode: string }>(
        `SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
          WHERE l.pid = $1 AND l.granted AND c.relkind IN ('r', 'p', 'm') AND c.relnamespace = 'public'::regnamespace`, [pid])
      const strongest = new Map<string, LockMode>()
      for (const r of rows) {
        const mode = MODES.get(r.mode) ?? LockMode.AccessShare
        strongest.set(r.relname, Math.max(mode, strongest.get(r.relname) ?? 0))
      }
      // Weak locks (reads of other tables, ROW EXCLUSIVE for DML) are not tracked by the analyzer.
      const held = [...strongest].filter(([, mode]) => mode > LockMode.RowExclusive).map(([table, mode]) => [table, LOCK_NAMES[mode]])
      t.same(Object.fromEntries(expected), Object.fromEntries(held), sql)
    } finally {
      await runner.query('ROLLBACK')
    }
  }
})
