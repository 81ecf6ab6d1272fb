import type pg from 'pg'
import t from 'tap'
import type { Finding } from '../../src/migrations/analyzer.js'
import { parseDirectives } from '../../src/migrations/directives.js'
import { analyze, clients, execCase, type Exec } from './analyzer-helpers.js'
import { createDatabase } from './helpers.js'

/** Tables every case runs against, as an application's existing schema. */
const SCHEMA = `
CREATE TABLE users (id int PRIMARY KEY, email text, note text, age int);
CREATE INDEX users_age ON users (age);
CREATE TABLE orders (id int PRIMARY KEY, user_id int);
CREATE TABLE archive (id int);
CREATE SCHEMA extra;
`

interface Case {
  rule: string
  severity: Finding['severity']
  sql: string
  /** How PostgreSQL takes the statement: in a transaction (default), outside one, or expected to fail in one. */
  exec?: Exec
}

const CASES: Case[] = [
  { rule: 'ban-drop-column', severity: 'high', sql: 'ALTER TABLE users DROP COLUMN note;' },
  { rule: 'ban-drop-table', severity: 'high', sql: 'DROP TABLE archive;' },
  { rule: 'ban-drop-schema', severity: 'high', sql: 'DROP SCHEMA extra CASCADE;' },
  { rule: 'ban-drop-database', severity: 'high', sql: 'DROP DATABASE some_other_db;', exec: 'skip' },
  { rule: 'renaming-column', severity: 'medium', sql: 'ALTER TABLE users RENAME COLUMN note TO remark;' },
  { rule: 'renaming-table', severity: 'medium', sql: 'ALTER TABLE users RENAME TO people;' },
  { rule: 'changing-column-type', severity: 'high', sql: 'ALTER TABLE users ALTER COLUMN age TYPE bigint;' },
  { rule: 'adding-required-field', severity: 'medium', sql: 'ALTER TABLE users ADD COLUMN plan text NOT NULL;' },
  { rule: 'adding-field-with-default', severity: 'high', sql: 'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();' },
  { rule: 'adding-field-with-default', severity: 'high', sql: 'ALTER TABLE users ADD COLUMN seq bigserial;' },
  { rule: 'adding-field-with-default', severity: 'high', sql: 'ALTER TABLE users ADD COLUMN r float DEFAULT (random() * 10) NOT NULL;' },
  { rule: 'adding-not-nullable-field', severity: 'high', sql: 'ALTER TABLE users ALTER COLUMN email SET NOT NULL;' },
  { rule: 'require-concurrent-index-creation', severity: 'high', sql: 'CREATE INDEX users_email ON users (email);' },
  { rule: 'require-concurrent-index-creation', severity: 'high', sql: 'CREATE UNIQUE INDEX users_email_key ON users (lower(email));' },
  { rule: 'require-concurrent-index-deletion', severity: 'medium', sql: 'DROP INDEX users_age;' },
  { rule: 'require-concurrent-reindex', severity: 'high', sql: 'REINDEX TABLE users;' },
  { rule: 'adding-foreign-key-constraint', severity: 'high', sql: 'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);' },
  { rule: 'adding-foreign-key-constraint', severity: 'high', sql: 'ALTER TABLE orders ADD COLUMN buyer_id int REFERENCES users (id);' },
  { rule: 'constraint-missing-not-valid', severity: 'high', sql: 'ALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0);' },
  { rule: 'disallowed-unique-constraint', severity: 'high', sql: 'ALTER TABLE users ADD CONSTRAINT users_email_unique UNIQUE (email);' },
  { rule: 'adding-serial-primary-key-field', severity: 'high', sql: 'ALTER TABLE archive ADD PRIMARY KEY (id);' },
  { rule: 'ban-truncate', severity: 'high', sql: 'TRUNCATE archive;' },
  { rule: 'ban-truncate-cascade', severity: 'high', sql: 'TRUNCATE users CASCADE;' },
  { rule: 'ban-delete-without-where', severity: 'high', sql: 'DELETE FROM archive;' },
  { rule: 'ban-update-without-where', severity: 'high', sql: 'UPDATE users SET note = NULL;' },
  { rule: 'ban-lock-table', severity: 'high', sql: 'LOCK TABLE users IN ACCESS EXCLUSIVE MODE;' },
  { rule: 'prefer-repack', severity: 'high', sql: 'VACUUM FULL archive;', exec: 'no-tx' },
  { rule: 'prefer-repack', severity: 'high', sql: 'VACUUM (FULL, ANALYZE) archive;', exec: 'no-tx' },
  { rule: 'prefer-repack', severity: 'high', sql: 'CLUSTER users USING users_pkey;' },
  { rule: 'ban-concurrent-index-creation-in-transaction', severity: 'high', sql: 'CREATE INDEX CONCURRENTLY users_note ON users (note);', exec: 'fails-in-tx' },
  { rule: 'transaction-nesting', severity: 'medium', sql: 'COMMIT;', exec: 'skip' }
]

/** Statements that are fine: no finding at all. */
const SAFE = [
  'CREATE TABLE fresh (id int PRIMARY KEY, email text NOT NULL);\nCREATE INDEX fresh_email ON fresh (email);\nALTER TABLE fresh ADD CONSTRAINT fresh_email_key UNIQUE (email);\nALTER TABLE fresh ADD COLUMN n int NOT NULL;\nDELETE FROM fresh;\nDROP TABLE fresh;',
  'ALTER TABLE users ADD COLUMN created_at timestamptz DEFAULT now();',
  "ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';",
  'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;',
  'ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;',
  'ALTER TABLE users ADD CONSTRAINT age_positive CHECK (age > 0) NOT VALID;',
  'DELETE FROM archive WHERE id < 10;',
  "UPDATE users SET note = 'x' WHERE id = 1;",
  'VACUUM archive;',
  '-- drawbridge:no-transaction\nCREATE INDEX CONCURRENTLY users_email ON users (email);'
]

t.test('each rule fires on real SQL that PostgreSQL runs', async (t) => {
  const db = await createDatabase(t)
  const [client] = await clients(t, db.url, 1) as [pg.Client]
  await client.query(SCHEMA)
  for (const c of CASES) {
    const findings = await analyze(`-- a comment\n\n${c.sql}\n`, 'case')
    t.match(findings, [{ migration: 'case', rule: c.rule, severity: c.severity, line: 3, statement: c.sql.replace(/;$/, '') }], `${c.rule}: ${c.sql}`)
    t.equal(findings.length, 1, `exactly one finding for ${c.sql}`)
    const f = findings[0]
    t.ok(f !== undefined && f.message.length > 20 && f.fix.length > 10, 'says why and what to do instead')
    await execCase(t, client, c.sql, c.exec)
  }
})

t.test('safe statements have no finding', async (t) => {
  for (const sql of SAFE) t.same(await analyze(sql), [], sql)
})

t.test('line is the 1-based line of the statement start, comments and UTF-8 included', async (t) => {
  const sql = [
    '-- drawbridge:maintenance',
    "-- Ünïcödé comment: 'quotes' and ; semicolons",
    "INSERT INTO archive VALUES (1); -- 'ç'",
    '',
    '/* block /* nested */ comment */',
    'ALTER TABLE users',
    '  DROP COLUMN note;',
    "SELECT 'a;b', $$ ; $$;   DROP TABLE archive;"
  ].join('\n')
  const findings = await analyze(sql)
  t.same(findings.map((f) => [f.rule, f.line, f.statement]), [
    ['ban-drop-column', 6, 'ALTER TABLE users\n  DROP COLUMN note'],
    ['ban-drop-table', 8, 'DROP TABLE archive']
  ])
})

t.test('unparseable SQL is a syntax-error finding at its line, and never hides the other findings', async (t) => {
  const findings = await analyze('CREATE TABLE a (id int);\nALTER TABLE users DROP COLUMN note;\n\nALTER TABLE users ADD COLUM x int;\nDROP TABLE archive;\n')
  t.same(findings.map((f) => [f.rule, f.severity, f.line]), [
    ['ban-drop-column', 'high', 2],
    ['syntax-error', 'high', 4],
    ['ban-drop-table', 'high', 5]
  ])
  t.match(findings[1]?.message, /syntax error at or near "int"/)
  t.equal(findings[1]?.statement, 'ALTER TABLE users ADD COLUM x int')

  const unterminated = await analyze("SELECT 1;\nSELECT 'never closed;\nDROP TABLE x;")
  t.match(unterminated, [{ rule: 'syntax-error', line: 2, message: /unterminated quoted string/ }])

  t.same(await analyze(''), [], 'an empty file is fine')
  t.same(await analyze('-- only a comment\n'), [])
  const garbage = await analyze('\u0000\u0001 ;;; )))(((')
  t.ok(garbage.every((f) => f.rule === 'syntax-error'), 'binary junk is findings, not a crash')
})

t.test('directives: typos are reported, CONCURRENTLY is fine outside a transaction', async (t) => {
  const typo = await analyze('-- drawbridge:no-transacton\nCREATE INDEX CONCURRENTLY i ON users (email);\n')
  t.same(typo.map((f) => [f.rule, f.line]), [['unknown-directive', 1], ['ban-concurrent-index-creation-in-transaction', 2]])
  t.same(parseDirectives('-- drawbridge:maintenance\n-- drawbridge:activates new-checkout\n--drawbridge:no-transaction\nSELECT 1;\n-- drawbridge:activates later'), {
    maintenance: true, noTransaction: true, activates: ['new-checkout'], unknown: []
  }, 'only leading comments count')
  const multi = await analyze('-- drawbridge:no-transaction\nCREATE INDEX CONCURRENTLY a ON users (email);\nCREATE INDEX CONCURRENTLY b ON users (note);\n')
  t.same(multi.map((f) => [f.rule, f.severity, f.line]), [['no-transaction-multiple-statements', 'low', 3]])
})
