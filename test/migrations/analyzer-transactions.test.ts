import pg from 'pg'
import t from 'tap'
import type { Finding } from '../../src/migrations/analyzer.js'
import { analyze, clients } from './analyzer-helpers.js'
import { createDatabase } from './helpers.js'

/**
 * Statement sequences: what is safe alone and dangerous in one transaction,
 * and transaction control inside a migration, with and without
 * -- drawbridge:no-transaction.
 */

const NO_TX = '-- drawbridge:no-transaction\n'

function brief (findings: Finding[]): Array<[string, string, number]> {
  return findings.map((f) => [f.rule, f.severity, f.line])
}

t.test('transaction-nesting says what really happens in each kind of file', async (t) => {
  const managed = await analyze('BEGIN;\nALTER TABLE users ADD COLUMN a int;\nCOMMIT;')
  t.same(brief(managed), [['transaction-nesting', 'medium', 1], ['transaction-nesting', 'medium', 3]])
  t.match(managed[0]?.message, /Drawbridge already runs this migration in its own transaction/)
  t.match(managed[1]?.message, /ends the transaction Drawbridge opened .* a dry run or rehearsal commits for real/)

  t.same(await analyze(`${NO_TX}BEGIN;\nALTER TABLE users ADD COLUMN a int;\nCOMMIT;`), [], 'a block in a no-transaction file is how you group statements there')

  const stray = await analyze(`${NO_TX}ALTER TABLE users ADD COLUMN a int;\nCOMMIT;`)
  t.same(brief(stray), [['transaction-nesting', 'low', 3]])
  t.match(stray[0]?.message, /No transaction is open here/)
  t.notMatch(stray[0]?.message, /already runs/, 'never claims a transaction the file does not have')

  const nested = await analyze(`${NO_TX}BEGIN;\nBEGIN;\nSELECT 1;\nCOMMIT;`)
  t.same(brief(nested), [['transaction-nesting', 'medium', 3]])
  t.match(nested[0]?.message, /already open since the BEGIN at line 2/)

  const open = await analyze(`${NO_TX}BEGIN;\nCREATE TABLE posts (id int);`)
  t.same(brief(open), [['ban-uncommitted-transaction', 'high', 2]])
  t.equal(open[0]?.statement, 'BEGIN')
  t.same((await analyze('COMMIT;\nBEGIN;\nCREATE TABLE posts (id int);')).filter((f) => f.rule === 'ban-uncommitted-transaction'), [],
    'in a transactional file Drawbridge\'s own COMMIT ends the block')

  t.same(brief(await analyze(`${NO_TX}SAVEPOINT s;`)), [['transaction-nesting', 'medium', 2]], 'a savepoint outside a block fails')
  t.same(await analyze('SAVEPOINT s;\nALTER TABLE users ADD COLUMN a int;\nRELEASE SAVEPOINT s;'), [])
})

t.test('CONCURRENTLY inside a transaction fails for certain: high', async (t) => {
  const cic = 'CREATE INDEX CONCURRENTLY users_email ON users (email);'
  const inFile = await analyze(cic)
  t.same(brief(inFile), [['ban-concurrent-index-creation-in-transaction', 'high', 1]])
  t.match(inFile[0]?.message, /Drawbridge runs this migration in a transaction/)
  const inBlock = await analyze(`${NO_TX}BEGIN;\n${cic}\nCOMMIT;`)
  t.same(brief(inBlock), [['ban-concurrent-index-creation-in-transaction', 'high', 3]])
  t.match(inBlock[0]?.message, /opened by the BEGIN at line 2/)
  t.same(await analyze(`${NO_TX}${cic}`), [])
  t.same(brief(await analyze(`COMMIT;\n${cic}`)), [['transaction-nesting', 'medium', 1]], 'after COMMIT it runs outside a transaction; the COMMIT is the finding')
  t.same(brief(await analyze('DROP INDEX CONCURRENTLY users_email;')), [['ban-concurrent-index-creation-in-transaction', 'high', 1]])
  t.same(brief(await analyze('REINDEX INDEX CONCURRENTLY users_email;')), [['ban-concurrent-index-creation-in-transaction', 'high', 1]])
})

t.test('safe apart, dangerous in one transaction', async (t) => {
  const notValid = 'ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;'
  const validate = 'ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;'
  t.same(brief(await analyze(`${notValid}\n${validate}`)), [['constraint-missing-not-valid', 'high', 2]])
  t.same(await analyze(`${NO_TX}${notValid}\n${validate}`).then((f) => f.filter((x) => x.severity !== 'low')), [], 'each commits on its own')
  t.same(await analyze(validate), [], 'validating alone only takes SHARE UPDATE EXCLUSIVE')

  t.same(brief(await analyze('ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = \'free\' WHERE plan IS NULL;')), [['long-statement-after-lock', 'high', 2]])
  t.same(brief(await analyze(`${NO_TX}ALTER TABLE users ADD COLUMN plan text;\nUPDATE users SET plan = 'free' WHERE plan IS NULL;`)).filter(([, s]) => s !== 'low'), [])
  t.same(brief(await analyze('ALTER TABLE users ADD COLUMN plan text;\nALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;')), [['long-statement-after-lock', 'high', 2]])

  t.same(brief(await analyze('ALTER TABLE users ADD COLUMN a int;\nALTER TABLE orders ADD COLUMN b int;')), [['multiple-exclusive-locks', 'medium', 2]])
  t.same(await analyze('ALTER TABLE users ADD COLUMN a int;\nALTER TABLE users ADD COLUMN b int;'), [], 'one table')
  t.same(await analyze('ALTER TABLE users ADD COLUMN a int;\nCOMMIT;\nALTER TABLE orders ADD COLUMN b int;').then((f) => f.filter((x) => x.rule === 'multiple-exclusive-locks')), [], 'COMMIT releases the first lock')

  t.same(brief(await analyze('ALTER TYPE mood ADD VALUE \'great\';\nUPDATE orders SET state = \'great\' WHERE id = 1;')), [['enum-value-used-in-same-transaction', 'high', 2]])
  t.same(await analyze('CREATE TYPE feeling AS ENUM (\'a\');\nALTER TYPE feeling ADD VALUE \'b\';\nSELECT \'b\'::feeling;'), [], 'a type created in the same transaction may use its new values')

  t.same(await analyze(`${NO_TX}ALTER TABLE users ADD CONSTRAINT email_set CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT email_set;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;`).then((f) => f.filter((x) => x.severity !== 'low')), [],
    'SET NOT NULL after a validated CHECK (col IS NOT NULL) skips the scan')
  t.same(brief(await analyze('ALTER TABLE users ADD CONSTRAINT email_set CHECK (email IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN email SET NOT NULL;')), [['adding-not-nullable-field', 'high', 2]], 'a check not yet valid does not count')
})

t.test('the premise, on a real server: a transaction keeps every lock until it ends', async (t) => {
  const db = await createDatabase(t)
  const [runner, observer] = await clients(t, db.url, 2) as [pg.Client, pg.Client]
  await runner.query('CREATE TABLE users (id int PRIMARY KEY, plan text); INSERT INTO users SELECT generate_series(1, 1000)')
  await runner.query('BEGIN')
  await runner.query('ALTER TABLE users ADD COLUMN region text')
  await runner.query('UPDATE users SET plan = \'free\' WHERE id <= 500')
  const { rows } = await observer.query('SELECT mode FROM pg_locks WHERE relation = \'users\'::regclass AND granted AND mode = \'AccessExclusiveLock\'')
  t.equal(rows.length, 1, 'the ADD COLUMN\'s ACCESS EXCLUSIVE is still held while the backfill runs')
  await observer.query('SET lock_timeout = \'100ms\'')
  await t.rejects(observer.query('SELECT count(*) FROM users'), /lock timeout/, 'so even reads wait')
  await runner.query('ROLLBACK')
})
