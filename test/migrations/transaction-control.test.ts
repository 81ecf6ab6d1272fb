import pg from 'pg'
import t from 'tap'
import { applyDryRun, MigrationFailure } from '../../src/migrations/migration-executor.js'
import { parseDirectives } from '../../src/migrations/directives.js'
import { checksumOf, type MigrationFile } from '../../src/migrations/migration-files.js'
import { loadParser, splitStatements } from '../../src/migrations/sql-statements.js'
import { appliedNames, createDatabase, harness, holdLock, runToEnd, tableNames, writeMigrations } from './helpers.js'

/*
 * A migration file that opens or ends a transaction. In a file Drawbridge runs
 * inside its own transaction, a COMMIT would commit part of the file for real
 * (a dry run included) and leave the tracking row outside of it: such a file
 * is refused before anything runs. In a no-transaction file, an explicit
 * BEGIN … COMMIT block is the operator's: a lock_timeout inside it aborts the
 * whole block, which is retried from its BEGIN.
 */

const WITH_COMMIT = 'CREATE TABLE leaked (id int);\nCOMMIT;\nCREATE TABLE after_commit (id int);\n'

t.test('a COMMIT in a transactional file: the dry run and the run are refused, nothing is committed or recorded', async (t) => {
  const h = await harness(t, { '001_clean.sql': 'CREATE TABLE clean (id int);\n', '002_commit.sql': WITH_COMMIT })
  for (const dryRun of [true, false]) {
    const run = await runToEnd(h, { dryRun, allowDangerous: true })
    t.equal(run.status, 'failed', `dryRun ${String(dryRun)}: failed`)
    t.match(run.error, { code: 'DRAWBRIDGE_ERR_INVALID', message: /002_commit line 2: COMMIT would end or nest the transaction .*-- drawbridge:no-transaction/ })
    t.ok(run.steps.filter((s) => s.kind === 'migration').every((s) => s.status === 'skipped'), 'every migration skipped: refused before anything ran')
    t.same((await tableNames(h.db)).filter((n) => !n.startsWith('drawbridge_')), [], 'no table of the files exists')
    t.same(await appliedNames(h.db), [], 'nothing recorded')
  }
})

t.test('the executor itself refuses it too (the path rehearsals take): nothing leaks out of the caller\'s transaction', async (t) => {
  await loadParser()
  const db = await createDatabase(t, 'txctl')
  const client = new pg.Client({ connectionString: db.url })
  await client.connect()
  t.teardown(() => client.end())
  const file: MigrationFile = { name: '002_commit', path: '002_commit.sql', sql: WITH_COMMIT, checksum: checksumOf(WITH_COMMIT), directives: parseDirectives(WITH_COMMIT) }
  await client.query('BEGIN')
  const err = await applyDryRun(client, file, splitStatements(file.sql), { lockRetries: 0, backoffMs: 1 }, { log: () => {}, attempt: () => {} }).catch((e: unknown) => e)
  await client.query('ROLLBACK')
  t.ok(err instanceof MigrationFailure, 'a MigrationFailure')
  t.equal((err as MigrationFailure).line, 2)
  t.same(await tableNames(db), [], 'CREATE TABLE leaked never ran, let alone committed')
})

t.test('SAVEPOINT, RELEASE and ROLLBACK TO stay inside the transaction and are allowed', async (t) => {
  const h = await harness(t, {
    '001_savepoints.sql': 'CREATE TABLE kept (id int);\nSAVEPOINT s1;\nCREATE TABLE undone (id int);\nROLLBACK TO SAVEPOINT s1;\nRELEASE SAVEPOINT s1;\n'
  })
  const run = await runToEnd(h)
  t.equal(run.status, 'succeeded', run.log.map((l) => l.msg).join('\n'))
  t.ok((await tableNames(h.db)).includes('kept'))
  t.notOk((await tableNames(h.db)).includes('undone'))
})

t.test('no-transaction file: a lock_timeout inside an explicit block retries the block from its BEGIN, once applied', async (t) => {
  const h = await harness(t, { '001_t.sql': 'CREATE TABLE t (id int);\nCREATE TABLE counter (n int);\nINSERT INTO counter VALUES (0);\n' })
  t.equal((await runToEnd(h)).status, 'succeeded')
  await writeMigrations(h.dir, {
    '002_block.sql': '-- drawbridge:no-transaction\nBEGIN;\nUPDATE counter SET n = n + 1 WHERE n >= 0;\nALTER TABLE t ADD COLUMN y int;\nCOMMIT;\n'
  })
  const blocker = await holdLock(t, h.db.url, 'LOCK TABLE t IN ACCESS SHARE MODE')
  const { id } = await h.service.startRun({ lockTimeoutMs: 100, lockRetries: 5 }, 'test')
  h.service.watch(id, (event) => {
    if (event.type === 'log' && /lock_timeout hit/.test(event.line.msg)) void blocker.release()
  })
  const run = await h.service.waitForRun(id)
  const log = run?.log.map((l) => l.msg).join('\n') ?? ''
  t.equal(run?.status, 'succeeded', log)
  t.match(log, /002_block line 4: lock_timeout hit \(inside the block that begins at line 2: rolled back, retrying it from there\)/)
  t.same(await h.db.query('SELECT n FROM counter'), [{ n: 1 }], 'the UPDATE before the ALTER applied once: the first try was rolled back whole')
  t.same(await appliedNames(h.db), ['001_t', '002_block'])
})

t.test('no-transaction file: a block never committed is rolled back and the migration fails', async (t) => {
  const h = await harness(t, { '001_open.sql': '-- drawbridge:no-transaction\nCREATE TABLE before_block (id int);\nBEGIN;\nCREATE TABLE in_block (id int);\n' })
  // The analyzer reports it high (ban-uncommitted-transaction); forced, the executor still refuses to leave it open.
  const run = await runToEnd(h, { allowDangerous: true })
  t.equal(run.status, 'failed')
  t.match(run.steps.find((s) => s.name === '001_open'), { status: 'failed', detail: /001_open line 3: the transaction opened here is never committed; rolled back/ })
  const tables = await tableNames(h.db)
  t.ok(tables.includes('before_block'), 'a statement before the block stays applied (no-transaction)')
  t.notOk(tables.includes('in_block'), 'the open block was rolled back')
  t.same(await appliedNames(h.db), [])
})
