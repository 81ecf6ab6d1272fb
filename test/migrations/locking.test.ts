import pg from 'pg'
import t from 'tap'
import { LOCK_CLASS, RUN_LOCK } from '../../src/migrations/migration-db.js'
import { appliedNames, harness, holdLock, runToEnd } from './helpers.js'

/** Resolves when `check` is true, polling; fails the test after `ms`. */
async function until (check: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

t.test('two concurrent runs: exactly one runs, the other gets 409 while the first holds the lock', async (t) => {
  const h = await harness(t, {
    '001_t.sql': 'CREATE TABLE t (id int);\n',
    '002_wait.sql': 'ALTER TABLE t ADD COLUMN x int;\n'
  })
  t.equal((await runToEnd(h, { step: 1 })).status, 'succeeded')
  // Keep the first run busy deterministically: its ALTER waits for our lock.
  const blocker = await holdLock(t, h.db.url, 'LOCK TABLE t IN ACCESS SHARE MODE')
  const first = await h.service.startRun({ lockTimeoutMs: 10_000 }, 'first')
  await until(async () => (await h.service.getRun(first.id))?.steps[0]?.status === 'running')

  const results = await Promise.allSettled([h.service.startRun({}, 'second'), h.service.startRun({ dryRun: true }, 'third')])
  for (const r of results) {
    t.equal(r.status, 'rejected')
    if (r.status === 'rejected') t.match(r.reason, { code: 'DRAWBRIDGE_ERR_MIGRATION_LOCKED', statusCode: 409 })
  }
  t.equal((await h.service.status()).locked, true)

  await blocker.release()
  const done = await h.service.waitForRun(first.id)
  t.equal(done?.status, 'succeeded')
  t.same(await appliedNames(h.db), ['001_t', '002_wait'])
  const runs = await h.service.listRuns(10)
  t.equal(runs.length, 2, 'the refused runs were never recorded')
  t.equal((await h.service.status()).locked, false, 'released at the end')
})

t.test('lock_timeout fires against a table locked by another session; bounded retries, then failed', async (t) => {
  const h = await harness(t, { '001_t.sql': 'CREATE TABLE t (id int);\n', '002_alter.sql': 'ALTER TABLE t ADD COLUMN y int;\n' })
  t.equal((await runToEnd(h, { step: 1 })).status, 'succeeded')
  await holdLock(t, h.db.url, 'LOCK TABLE t IN ACCESS SHARE MODE')

  const started = Date.now()
  const run = await runToEnd(h, { lockTimeoutMs: 100, lockRetries: 2 })
  t.equal(run.status, 'failed')
  t.match(run.steps[0], { name: '002_alter', status: 'failed', attempts: 3, detail: /lock timeout.*55P03/ })
  t.equal(run.log.filter((l) => /lock_timeout hit.*retry \d\/2/.test(l.msg)).length, 2, 'two retries logged')
  t.ok(Date.now() - started >= 300, 'each attempt waited lock_timeout')
  t.same(await appliedNames(h.db), ['001_t'])
  const cols = await h.db.query("SELECT column_name FROM information_schema.columns WHERE table_name = 't'")
  t.same(cols.map((c) => c.column_name), ['id'], 'rolled back')
})

t.test('a retry after lock_timeout succeeds once the lock is gone', async (t) => {
  const h = await harness(t, { '001_t.sql': 'CREATE TABLE t (id int);\n', '002_alter.sql': 'ALTER TABLE t ADD COLUMN y int;\n' })
  t.equal((await runToEnd(h, { step: 1 })).status, 'succeeded')
  const blocker = await holdLock(t, h.db.url, 'LOCK TABLE t IN ACCESS SHARE MODE')
  const { id } = await h.service.startRun({ lockTimeoutMs: 100, lockRetries: 5 }, 'test')
  const watched = h.service.watch(id, (event) => {
    if (event.type === 'log' && /lock_timeout hit/.test(event.line.msg)) void blocker.release()
  })
  t.ok(watched !== null, 'the run is live in this process')
  const run = await h.service.waitForRun(id)
  t.equal(run?.status, 'succeeded')
  t.equal(run?.steps[0]?.attempts, 2)
  t.same(await appliedNames(h.db), ['001_t', '002_alter'])
})

t.test('a run whose runner died is shown as interrupted, and its lock is free', async (t) => {
  const h = await harness(t, { '001_t.sql': 'CREATE TABLE t (id int);\n' })
  await runToEnd(h, { dryRun: true }) // an earlier run created the tables (reads never do)
  // What a killed runner leaves behind: a `running` row whose lock holder was this connection.
  const runner = new pg.Client({ connectionString: h.db.url })
  await runner.connect()
  const { rows } = await runner.query('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok, pg_backend_pid() AS pid', [LOCK_CLASS, RUN_LOCK])
  t.equal(rows[0].ok, true)
  await h.db.query(
    `INSERT INTO drawbridge_migration_runs (id, status, actor, options, lock_pid, started_at, steps)
     VALUES ('dead-run', 'running', 'ghost', '{}', $1, now(), $2)`, [rows[0].pid, JSON.stringify([
      { kind: 'migration', name: '001_t', status: 'running', startedAt: new Date().toISOString(), finishedAt: null, durationMs: null, attempts: 1, detail: null },
      { kind: 'flag', name: 'f', status: 'pending', startedAt: null, finishedAt: null, durationMs: null, attempts: 0, detail: null }
    ])])

  t.equal((await h.service.getRun('dead-run'))?.status, 'running', 'alive while its lock is held')
  await t.rejects(h.service.startRun({}, 'test'), { code: 'DRAWBRIDGE_ERR_MIGRATION_LOCKED' })

  await runner.end() // the process dies: PostgreSQL releases its session lock
  const dead = await h.service.getRun('dead-run')
  t.equal(dead?.status, 'interrupted')
  t.match(dead?.log.at(-1), { level: 'error', msg: /stopped before this run finished/ })
  t.ok(dead?.finishedAt)
  t.match(dead?.steps[0], { status: 'interrupted', detail: /runner stopped while this step was running/ }, 'the step it died in reads interrupted, with why')
  t.match(dead?.steps[1], { status: 'skipped', detail: /interrupted/ })
  t.match(dead?.error, { code: 'DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED', message: /stopped before this run finished/ })
  const stored = async (): Promise<string> => (await h.db.query<{ status: string }>('SELECT status FROM drawbridge_migration_runs WHERE id = \'dead-run\''))[0]?.status ?? 'none'
  await h.service.listRuns(10)
  await h.service.status()
  t.equal(await stored(), 'running', 'reads never write: the row is recorded as interrupted only once the lock is found free')

  const next = await runToEnd(h)
  t.equal(next.status, 'succeeded', 'a new run can start')
  t.equal(await stored(), 'interrupted', 'starting a run (the lock found free) recorded it')
  const recorded = (await h.db.query<{ steps: Array<{ status: string }>, error: { code: string } }>('SELECT steps, error FROM drawbridge_migration_runs WHERE id = \'dead-run\''))[0]
  t.same(recorded?.steps.map((s) => s.status), ['interrupted', 'skipped'], 'recorded with its steps, not only its status')
  t.equal(recorded?.error.code, 'DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED')
  t.equal((await h.service.status()).lastRun?.id, next.id)
})

t.test('at startup, runs left running by a dead process are marked interrupted', async (t) => {
  const h = await harness(t)
  await runToEnd(h, { dryRun: true }) // an earlier run created the tables (reads never do)
  await h.db.query(`INSERT INTO drawbridge_migration_runs (id, status, actor, options, lock_pid)
                    VALUES ('old-run', 'running', 'ghost', '{}', 999999)`)
  await h.service.start()
  const rows = await h.db.query<{ status: string }>("SELECT status FROM drawbridge_migration_runs WHERE id = 'old-run'")
  t.equal(rows[0]?.status, 'interrupted')
})

t.test('closing the service mid-run cancels the statement and records the run as interrupted', async (t) => {
  const h = await harness(t, { '001_t.sql': 'CREATE TABLE t (id int);\n', '002_slow.sql': 'CREATE TABLE s (id int);\nSELECT pg_sleep(30);\n' })
  t.equal((await runToEnd(h, { step: 1 })).status, 'succeeded')
  const { id } = await h.service.startRun({}, 'test')
  await until(async () => (await h.service.getRun(id))?.steps[0]?.status === 'running')
  await new Promise((resolve) => setTimeout(resolve, 100))
  const { MigrationService } = await import('../../src/migrations/migration-service.js')
  const reader = new MigrationService(h.ctx, { databaseUrl: h.db.url, migrationsDir: h.dir, backupDir: h.backupDir })
  t.teardown(async () => { await reader.close() })
  const started = Date.now()
  await h.service.close()
  t.ok(Date.now() - started < 5000, 'did not wait for pg_sleep(30)')
  const run = await reader.getRun(id)
  t.equal(run?.status, 'interrupted')
  t.match(run?.steps[0], { status: 'interrupted', detail: /shutting down/ })
  t.equal(run?.error?.code, 'DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED')
  t.same(await appliedNames(h.db), ['001_t'])
  t.same(await h.db.query("SELECT 1 FROM pg_class WHERE relname = 's'"), [], 'the migration in progress rolled back')
})
