import type pg from 'pg'
import t from 'tap'
import type { Finding } from '../../src/migrations/analyzer.js'
import { analyze, clients, execCase, type Exec } from './analyzer-helpers.js'
import { createDatabase } from './helpers.js'

/**
 * One test per family the analyzer learned: the rule, its severity, and the
 * SQL run on a real server against an application's schema, so every case is
 * a statement PostgreSQL accepts (or refuses, when the finding says it fails).
 */

const SCHEMA = `
CREATE TABLE users (id int PRIMARY KEY, email text, name varchar(50), bio text, age int, during tstzrange);
CREATE INDEX users_email_idx ON users (email);
CREATE TABLE orders (id int PRIMARY KEY, user_id int, state text);
CREATE UNLOGGED TABLE scratch (id int);
CREATE TABLE measurement (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE measurement_2023 PARTITION OF measurement FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE measurement_2024 (id int, at date);
CREATE DOMAIN positive AS int;
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TYPE address AS (street text, zip text);
CREATE SEQUENCE invoice_seq;
CREATE VIEW active_users AS SELECT id FROM users;
CREATE MATERIALIZED VIEW user_totals AS SELECT count(*) AS n FROM users;
CREATE FUNCTION totals(int) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE SCHEMA app;
`

interface Case {
  rule: string
  severity: Finding['severity']
  sql: string
  /** How PostgreSQL takes it: in a transaction (default), refused in one, or not run (needs a newer server). */
  exec?: Exec
}

const FAMILIES: Record<string, Case[]> = {
  'table rewrites other than type changes': [
    { rule: 'changing-table-persistence', severity: 'high', sql: 'ALTER TABLE scratch SET LOGGED;' },
    { rule: 'changing-table-persistence', severity: 'high', sql: 'ALTER TABLE orders SET UNLOGGED;' },
    { rule: 'changing-table-access-method', severity: 'high', sql: 'ALTER TABLE orders SET ACCESS METHOD heap;' },
    { rule: 'changing-tablespace', severity: 'high', sql: 'ALTER TABLE orders SET TABLESPACE pg_default;' },
    { rule: 'changing-tablespace', severity: 'high', sql: 'ALTER INDEX users_email_idx SET TABLESPACE pg_default;' },
    { rule: 'adding-field-with-default', severity: 'high', sql: 'ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();' },
    { rule: 'adding-field-with-default', severity: 'high', sql: 'ALTER TABLE users ADD COLUMN digest text DEFAULT totals(1)::text;' },
    { rule: 'adding-field-with-default', severity: 'high', sql: 'ALTER TABLE users ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY;' },
    { rule: 'adding-field-with-default', severity: 'high', sql: 'ALTER TABLE users ADD COLUMN lower_email text GENERATED ALWAYS AS (lower(email)) STORED;' },
    { rule: 'changing-generated-expression', severity: 'high', sql: 'ALTER TABLE users ALTER COLUMN lower_email SET EXPRESSION AS (upper(email));', exec: 'skip' },
    { rule: 'changing-column-type', severity: 'high', sql: 'ALTER TABLE users ALTER COLUMN age TYPE text USING age::text;' },
    { rule: 'changing-column-type', severity: 'high', sql: 'ALTER TABLE users ALTER COLUMN email TYPE text COLLATE "C";' },
    { rule: 'require-concurrent-refresh', severity: 'high', sql: 'REFRESH MATERIALIZED VIEW user_totals;' }
  ],
  'ACCESS EXCLUSIVE on a parent or on every user of a type': [
    { rule: 'require-concurrent-partition-detach', severity: 'medium', sql: 'ALTER TABLE measurement DETACH PARTITION measurement_2023;' },
    { rule: 'ban-concurrent-detach-in-transaction', severity: 'high', sql: 'ALTER TABLE measurement DETACH PARTITION measurement_2023 CONCURRENTLY;', exec: 'fails-in-tx' },
    { rule: 'attaching-partition', severity: 'medium', sql: 'ALTER TABLE measurement ATTACH PARTITION measurement_2024 FOR VALUES FROM (\'2024-01-01\') TO (\'2025-01-01\');' },
    { rule: 'creating-partition', severity: 'medium', sql: 'CREATE TABLE measurement_2025 PARTITION OF measurement FOR VALUES FROM (\'2025-01-01\') TO (\'2026-01-01\');' },
    { rule: 'ban-alter-domain-with-add-constraint', severity: 'high', sql: 'ALTER DOMAIN positive ADD CONSTRAINT positive_check CHECK (VALUE > 0);' },
    { rule: 'adding-not-nullable-field', severity: 'high', sql: 'ALTER DOMAIN positive SET NOT NULL;' },
    { rule: 'ban-drop-column', severity: 'high', sql: 'ALTER TYPE address DROP ATTRIBUTE zip;' },
    { rule: 'adding-exclusion-constraint', severity: 'high', sql: 'ALTER TABLE users ADD CONSTRAINT no_overlap EXCLUDE USING gist (during WITH &&);' }
  ],
  'renames of things other than tables and columns': [
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER INDEX users_email_idx RENAME TO users_mail_idx;' },
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER VIEW active_users RENAME TO live_users;' },
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER MATERIALIZED VIEW user_totals RENAME TO totals_by_user;' },
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER SCHEMA app RENAME TO application;' },
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER TYPE mood RENAME TO feeling;' },
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER TYPE mood RENAME VALUE \'ok\' TO \'fine\';' },
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER TABLE users RENAME CONSTRAINT users_pkey TO users_pk;' },
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER SEQUENCE invoice_seq RENAME TO invoice_numbers;' },
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER FUNCTION totals(int) RENAME TO sums;' },
    { rule: 'renaming-object', severity: 'medium', sql: 'ALTER TABLE orders SET SCHEMA app;' },
    { rule: 'renaming-column', severity: 'medium', sql: 'ALTER TYPE address RENAME ATTRIBUTE zip TO postal_code;' }
  ],
  'drops of every kind': [
    { rule: 'ban-drop-object', severity: 'medium', sql: 'DROP VIEW active_users;' },
    { rule: 'ban-drop-object', severity: 'medium', sql: 'DROP MATERIALIZED VIEW user_totals;' },
    { rule: 'ban-drop-object', severity: 'high', sql: 'DROP SEQUENCE invoice_seq;' },
    { rule: 'ban-drop-object', severity: 'high', sql: 'DROP TYPE address CASCADE;' },
    { rule: 'ban-drop-object', severity: 'medium', sql: 'DROP FUNCTION totals(int);' },
    { rule: 'restarting-sequence', severity: 'medium', sql: 'ALTER SEQUENCE invoice_seq RESTART WITH 1;' }
  ]
}

t.test('each family: rule, severity, and SQL that PostgreSQL takes', async (t) => {
  const db = await createDatabase(t)
  const [client] = await clients(t, db.url, 1) as [pg.Client]
  await client.query(SCHEMA)
  for (const [family, cases] of Object.entries(FAMILIES)) {
    for (const c of cases) {
      const findings = await analyze(c.sql)
      t.equal(findings.length, 1, `${family}: exactly one finding for ${c.sql}`)
      t.match(findings[0], { rule: c.rule, severity: c.severity, line: 1 }, `${family}: ${c.sql}`)
      await execCase(t, client, c.sql, c.exec)
    }
  }
})

t.test('binary-coercible type changes are not high; the ones that scan or rewrite are', async (t) => {
  t.same(await analyze('ALTER TABLE users ADD COLUMN code varchar(10);\nALTER TABLE users ALTER COLUMN code TYPE varchar(20);'), [], 'a limit that grows: no finding')
  t.same(await analyze('ALTER TABLE users ADD COLUMN ip cidr;\nALTER TABLE users ALTER COLUMN ip TYPE inet;'), [], 'cidr → inet: no finding')
  t.match(await analyze('ALTER TABLE users ALTER COLUMN name TYPE text;'), [{ rule: 'changing-column-type', severity: 'low', message: /catalog-only .* when the column is varchar or citext/ }], 'old type unknown: a note')
  t.match(await analyze('ALTER TABLE users ADD COLUMN code varchar(10);\nALTER TABLE users ADD CONSTRAINT code_upper CHECK (code = upper(code)) NOT VALID;\nALTER TABLE users ALTER COLUMN code TYPE text;'),
    [{ rule: 'changing-column-type', severity: 'medium', line: 3, message: /re-checked with a full scan/ }], 'no rewrite, but the CHECK on the column is re-checked')
  t.match(await analyze('ALTER TABLE users ADD COLUMN code varchar(10);\nALTER TABLE users ALTER COLUMN code TYPE varchar(5);'), [{ rule: 'changing-column-type', severity: 'high', line: 2 }])
})

t.test('schema-qualified names: public.orders and orders are one table', async (t) => {
  t.same(await analyze('CREATE TABLE public.invoices (id int);\nCREATE INDEX ON invoices (id);\nALTER TABLE invoices ADD CONSTRAINT invoices_pk PRIMARY KEY (id);'), [])
  t.same(await analyze('SET search_path TO app, public;\nCREATE TABLE invoices (id int);\nCREATE INDEX ON app.invoices (id);'), [])
  t.match(await analyze('CREATE TABLE app.invoices (id int);\nCREATE INDEX ON invoices (id);'), [{ rule: 'require-concurrent-index-creation', line: 2 }])
  t.same(await analyze('CREATE SCHEMA billing;\nCREATE TABLE billing.invoices (id int);\nALTER TABLE billing.invoices ADD COLUMN total numeric NOT NULL;\nDROP TABLE billing.invoices;'), [], 'everything in a new schema is new')
})
