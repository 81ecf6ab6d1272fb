import t from 'tap'
import { appliedNames, harness, runToEnd, tableNames } from './helpers.js'

/*
 * Drawbridge's tracking tables live in the application's database. Looking
 * (status, runs, analysis, the startup sweep for interrupted runs) and
 * rehearsing never create them: the live database is written only by a run.
 */
t.test('status, runs, analysis and a rehearsal leave the application\'s database as it was; a run creates the tables', async (t) => {
  const h = await harness(t, { '001_orders.sql': 'CREATE TABLE orders (id int);\n', '002_note.sql': 'ALTER TABLE orders ADD COLUMN note text;\n' })
  await h.db.query('CREATE TABLE customers (id int)')
  const before = await tableNames(h.db)

  await h.service.start()
  const status = await h.service.status()
  t.same(status.pending.map((p) => p.name), ['001_orders', '002_note'])
  t.same(await h.service.listRuns(10), [])
  t.equal(await h.service.getRun('no-such-run'), null)
  t.same((await h.service.analyze()).findings, [])
  const { id } = await h.service.startRehearsal({}, 'test')
  const rehearsal = await h.service.rehearsals.wait(id)
  t.equal(rehearsal?.status, 'succeeded', JSON.stringify(rehearsal?.error))
  t.same(await tableNames(h.db), before, 'no table created by looking or rehearsing')

  const run = await runToEnd(h)
  t.equal(run.status, 'succeeded')
  t.same(await appliedNames(h.db), ['001_orders', '002_note'])
  t.ok((await tableNames(h.db)).includes('drawbridge_migration_runs'), 'a run records itself, creating the tables')
  t.same((await h.service.status()).pending, [])
})
