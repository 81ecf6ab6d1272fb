import type pg from 'pg'
import t from 'tap'
import { analyze, clients } from './analyzer-helpers.js'
import { createDatabase } from './helpers.js'

/**
 * The analyzer's rewrite rules for ALTER COLUMN ... TYPE, checked against a
 * real server: the table's file node changes exactly when the analyzer says
 * the table is rewritten (changing-column-type, high). A column whose type is
 * declared earlier in the file is a known source; the catalog-only changes
 * (binary-coercible, limits that only grow) must not be reported as high.
 */

interface Pair { from: string, to: string, rewrite: boolean, tz?: string }

const PAIRS: Pair[] = [
  { from: 'varchar(10)', to: 'varchar(20)', rewrite: false },
  { from: 'varchar(20)', to: 'varchar(10)', rewrite: true },
  { from: 'varchar(10)', to: 'varchar', rewrite: false },
  { from: 'varchar(10)', to: 'text', rewrite: false },
  { from: 'text', to: 'varchar', rewrite: false },
  { from: 'text', to: 'varchar(5)', rewrite: true },
  { from: 'varchar', to: 'varchar(5)', rewrite: true },
  { from: 'numeric(10,2)', to: 'numeric(12,2)', rewrite: false },
  { from: 'numeric(10,2)', to: 'numeric', rewrite: false },
  { from: 'decimal(10,2)', to: 'numeric(10,3)', rewrite: true },
  { from: 'numeric(10,2)', to: 'numeric(9,2)', rewrite: true },
  { from: 'numeric', to: 'numeric(10,2)', rewrite: true },
  { from: 'integer', to: 'bigint', rewrite: true },
  { from: 'bigint', to: 'int', rewrite: true },
  { from: 'smallint', to: 'integer', rewrite: true },
  { from: 'real', to: 'double precision', rewrite: true },
  { from: 'json', to: 'jsonb', rewrite: true },
  { from: 'timestamp(0)', to: 'timestamp(3)', rewrite: false },
  { from: 'timestamp', to: 'timestamp(3)', rewrite: true },
  { from: 'timestamptz(3)', to: 'timestamptz', rewrite: false },
  { from: 'timestamp', to: 'timestamptz', rewrite: false, tz: 'UTC' },
  { from: 'timestamp', to: 'timestamptz', rewrite: true, tz: 'America/Los_Angeles' },
  { from: 'time(0)', to: 'time(3)', rewrite: false },
  { from: 'time', to: 'time(2)', rewrite: true },
  { from: 'interval(0)', to: 'interval(3)', rewrite: false },
  { from: 'interval', to: 'interval(3)', rewrite: true },
  { from: 'cidr', to: 'inet', rewrite: false },
  { from: 'inet', to: 'cidr', rewrite: true },
  { from: 'bit varying(5)', to: 'bit varying(10)', rewrite: false },
  { from: 'bit varying(10)', to: 'bit varying(5)', rewrite: true },
  { from: 'char(4)', to: 'char(8)', rewrite: true },
  { from: 'char(4)', to: 'text', rewrite: true },
  { from: 'integer[]', to: 'bigint[]', rewrite: true },
  { from: 'text[]', to: 'varchar[]', rewrite: true },
  { from: 'integer', to: 'text', rewrite: true }
]

t.test('the table is rewritten exactly when the analyzer says so', async (t) => {
  const db = await createDatabase(t)
  const [client] = await clients(t, db.url, 1) as [pg.Client]
  await client.query('CREATE TABLE accounts (id int); INSERT INTO accounts SELECT generate_series(1, 2000)')
  let n = 0
  for (const p of PAIRS) {
    const col = `c${n++}`
    const add = `ALTER TABLE accounts ADD COLUMN ${col} ${p.from};`
    const change = `ALTER TABLE accounts ALTER COLUMN ${col} TYPE ${p.to};`
    const findings = await analyze(`${add}\n${change}`)
    const high = findings.filter((f) => f.rule === 'changing-column-type' && f.severity === 'high')
    await client.query(`SET TimeZone = '${p.tz ?? 'UTC'}'`)
    await client.query(add)
    await client.query(`UPDATE accounts SET ${col} = NULL`)
    const before = (await client.query('SELECT pg_relation_filenode(\'accounts\') AS f')).rows[0].f as string
    await client.query(change)
    const after = (await client.query('SELECT pg_relation_filenode(\'accounts\') AS f')).rows[0].f as string
    const rewrote = before !== after
    t.equal(rewrote, p.rewrite, `PostgreSQL ${rewrote ? 'rewrites' : 'keeps'} the table for ${p.from} → ${p.to}${p.tz !== undefined ? ` (TimeZone ${p.tz})` : ''}`)
    if (p.tz !== undefined) {
      // The analyzer cannot know the session's TimeZone: it says so, at low severity.
      t.match(findings, [{ rule: 'changing-column-type', severity: 'low', message: /TimeZone is UTC/ }], `${p.from} → ${p.to}: depends on TimeZone`)
      continue
    }
    t.equal(high.length > 0, p.rewrite, `the analyzer ${p.rewrite ? 'reports' : 'does not report'} a rewrite for ${p.from} → ${p.to}`)
    if (!p.rewrite) t.same(findings, [], `${p.from} → ${p.to}: no finding at all`)
  }
})

t.test('a collation change keeps the table but rebuilds its indexes', async (t) => {
  const db = await createDatabase(t)
  const [client] = await clients(t, db.url, 1) as [pg.Client]
  await client.query('CREATE TABLE accounts (id int, name text); INSERT INTO accounts SELECT g, g::text FROM generate_series(1, 2000) g; CREATE INDEX accounts_name ON accounts (name)')
  const sql = 'ALTER TABLE accounts ALTER COLUMN name TYPE text COLLATE "C";'
  t.match(await analyze(sql), [{ rule: 'changing-column-type', severity: 'high', message: /rebuilds every index/ }])
  const files = async (): Promise<string[]> => (await client.query('SELECT pg_relation_filenode(\'accounts\')::text AS t, pg_relation_filenode(\'accounts_name\')::text AS i')).rows.map((r) => `${r.t as string}/${r.i as string}`)
  const [before] = await files()
  await client.query(sql)
  const [after] = await files()
  t.equal(after?.split('/')[0], before?.split('/')[0], 'table file kept')
  t.not(after?.split('/')[1], before?.split('/')[1], 'index rebuilt')
})
