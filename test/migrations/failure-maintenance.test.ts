import t from 'tap'
import { patchMaintenance } from '../../src/maintenance/maintenance-service.js'
import { appliedNames, harness, runToEnd, tableNames } from './helpers.js'

const FILES = {
  '001_users.sql': 'CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, \'a@x\');\n',
  '002_fails.sql': '-- drawbridge:maintenance\nCREATE TABLE half (id int);\nINSERT INTO users VALUES (1, \'duplicate\');\n',
  '003_later.sql': 'CREATE TABLE later (id int);\n'
}

t.test('a failing migration is rolled back, nothing after it runs, and maintenance stays on', async (t) => {
  const h = await harness(t, FILES)
  const run = await runToEnd(h, { message: 'Upgrading the database', retryAfter: 120 })
  t.equal(run.status, 'failed')
  t.match(run.error, { code: 'DRAWBRIDGE_ERR_DATABASE', message: /002_fails line 3: duplicate key value/ })
  t.same(run.steps.map((s) => [s.kind, s.name, s.status]), [
    ['maintenance', 'open', 'succeeded'],
    ['migration', '001_users', 'succeeded'],
    ['migration', '002_fails', 'failed'],
    ['migration', '003_later', 'skipped'],
    ['maintenance', 'close', 'skipped']
  ])
  t.same(await appliedNames(h.db), ['001_users'], 'only the first is recorded')
  t.same(await tableNames(h.db), ['drawbridge_migration_runs', 'drawbridge_migrations', 'users'], 'no "half", no "later"')
  const m = (await h.ctx.store.load()).maintenance
  t.match(m, { enabled: true, message: 'Upgrading the database', retryAfter: 120, updatedBy: `migration-run:${run.id}` }, 'maintenance stays on')
  t.match(run.log.map((l) => l.msg).join('\n'), /maintenance stays ON/)
  t.same(h.events.map((e) => e.event), ['migration.started', 'maintenance.enabled', 'migration.failed'])
  t.match(h.events[2]?.data, { runId: run.id, migration: '002_fails' })
})

t.test('onFailure: restore puts maintenance back as it was before the run', async (t) => {
  const h = await harness(t, FILES)
  const run = await runToEnd(h, { onFailure: 'restore' })
  t.equal(run.status, 'failed')
  t.equal((await h.ctx.store.load()).maintenance.enabled, false)
  t.match(run.steps.find((s) => s.name === 'restore'), { kind: 'maintenance', status: 'succeeded' })
})

t.test('maintenance: auto opens a window only for migrations that need one, and closes it after the last', async (t) => {
  const h = await harness(t, { '001_plain.sql': 'CREATE TABLE plain (id int);\n' })
  const plain = await runToEnd(h)
  t.equal(plain.status, 'succeeded')
  t.notOk(plain.steps.some((s) => s.kind === 'maintenance'), 'no window for a harmless migration')
  t.notOk(h.events.some((e) => e.event === 'maintenance.enabled'))

  await import('node:fs/promises').then(async (fs) => {
    await fs.writeFile(`${h.dir}/002_window.sql`, '-- drawbridge:maintenance\nALTER TABLE plain ADD COLUMN x int;\n')
  })
  const seen: boolean[] = []
  h.ctx.events.onEvent((e) => { if (e.event === 'maintenance.enabled') seen.push(true) })
  const windowed = await runToEnd(h, { message: 'Back soon', retryAfter: 60 })
  t.equal(windowed.status, 'succeeded')
  t.same(windowed.steps.map((s) => `${s.kind}:${s.name}`), ['maintenance:open', 'migration:002_window', 'maintenance:close'])
  const open = windowed.steps[0]
  const mig = windowed.steps[1]
  t.ok(open !== undefined && mig !== undefined && Date.parse(open.finishedAt ?? '') <= Date.parse(mig.startedAt ?? ''), 'window opened before the first migration')
  t.equal(seen.length, 1)
  t.equal((await h.ctx.store.load()).maintenance.enabled, false, 'closed after the last')
  t.same(h.events.map((e) => e.event), [
    'migration.started', 'migration.succeeded',
    'migration.started', 'maintenance.enabled', 'maintenance.disabled', 'migration.succeeded'
  ])
  t.match(h.events.at(-1), { actor: 'test', data: { runId: windowed.id, status: 'succeeded', migrations: ['002_window'] } })
})

t.test('a window the operator had already opened is left as it was', async (t) => {
  const h = await harness(t, { '001_m.sql': 'CREATE TABLE m (id int);\n' })
  await patchMaintenance(h.ctx, 'operator', { enabled: true, message: 'Operator says hi' })
  const run = await runToEnd(h, { maintenance: 'always', message: 'Migrating' })
  t.equal(run.status, 'succeeded')
  t.match((await h.ctx.store.load()).maintenance, { enabled: true, message: 'Operator says hi' })
})

t.test('high-severity findings refuse the run unless allowed, or the file is marked for maintenance', async (t) => {
  const h = await harness(t, {
    '001_t.sql': 'CREATE TABLE t (id int, note text);\n',
    '002_drop.sql': 'ALTER TABLE t DROP COLUMN note;\n'
  })
  const refused = await runToEnd(h, { step: 1 })
  t.equal(refused.status, 'succeeded', 'the harmless one alone runs')

  const dangerous = await runToEnd(h)
  t.equal(dangerous.status, 'failed')
  t.match(dangerous.error, { code: 'DRAWBRIDGE_ERR_MIGRATION_DANGEROUS', message: /002_drop/ })
  t.match(dangerous.findings, [{ migration: '002_drop', rule: 'ban-drop-column', severity: 'high', line: 1 }])
  t.same(dangerous.steps.map((s) => `${s.kind}:${s.name}:${s.status}`), ['maintenance:open:skipped', 'migration:002_drop:skipped', 'maintenance:close:skipped'])
  t.same(await appliedNames(h.db), ['001_t'], 'nothing applied')
  t.equal((await h.ctx.store.load()).maintenance.enabled, false, 'no window opened')

  const allowed = await runToEnd(h, { allowDangerous: true })
  t.equal(allowed.status, 'succeeded')
  t.same(allowed.steps.map((s) => `${s.kind}:${s.name}`), ['maintenance:open', 'migration:002_drop', 'maintenance:close'],
    'auto opens a window for an allowed high-severity finding')
})

t.test('-- drawbridge:maintenance allows high findings; maintenance: never refuses such a file', async (t) => {
  const h = await harness(t, {
    '001_t.sql': 'CREATE TABLE t (id int, note text);\n',
    '002_drop.sql': '-- drawbridge:maintenance\nALTER TABLE t DROP COLUMN note;\n'
  })
  const never = await runToEnd(h, { maintenance: 'never' })
  t.equal(never.status, 'failed')
  t.match(never.error, { code: 'DRAWBRIDGE_ERR_INVALID', message: /002_drop must run in a maintenance window/ })
  t.same(await appliedNames(h.db), [])
  const auto = await runToEnd(h)
  t.equal(auto.status, 'succeeded')
  t.same(await appliedNames(h.db), ['001_t', '002_drop'])
})
