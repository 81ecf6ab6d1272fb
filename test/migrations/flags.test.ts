import t from 'tap'
import { buildAdmin } from '../../src/admin/app.js'
import { putFlag } from '../../src/flags/flag-service.js'
import { migrationRoutes } from '../../src/migrations/admin-routes.js'
import { appliedNames, harness, runToEnd } from './helpers.js'

const flagBody = (requires: string | null) => ({ enabled: false, requires }) as Parameters<typeof putFlag>[3]

t.test('-- drawbridge:activates enables the flag after its migration commits, audited as the run', async (t) => {
  const h = await harness(t, {
    '001_orders.sql': 'CREATE TABLE orders (id int);\n',
    // The flag requires this very migration: enabling it before the commit would be refused.
    '002_orders_customer.sql': '-- drawbridge:activates new-checkout\nALTER TABLE orders ADD COLUMN customer_id int;\n',
    '003_more.sql': 'CREATE TABLE more (id int);\n'
  })
  await putFlag(h.ctx, 'test', 'new-checkout', flagBody('002_orders_customer'))
  // What the database holds when the flag changes: read at that moment, awaited before the assertion.
  const seenAt: Array<Promise<string[]>> = []
  h.ctx.events.onEvent((e) => {
    if (e.event === 'flag.changed') seenAt.push(appliedNames(h.db))
  })

  const run = await runToEnd(h)
  t.equal(run.status, 'succeeded', run.log.map((l) => l.msg).join('\n'))
  t.same(run.steps.map((s) => `${s.kind}:${s.name}:${s.status}`), [
    'migration:001_orders:succeeded', 'migration:002_orders_customer:succeeded', 'flag:new-checkout:succeeded', 'migration:003_more:succeeded'
  ])
  const migStep = run.steps[1]
  const flagStep = run.steps[2]
  const nextStep = run.steps[3]
  t.ok(Date.parse(flagStep?.startedAt ?? '') >= Date.parse(migStep?.finishedAt ?? ''), 'after its migration')
  t.ok(Date.parse(flagStep?.finishedAt ?? '') <= Date.parse(nextStep?.startedAt ?? ''), 'before the next one')
  const flag = (await h.ctx.store.load()).flags['new-checkout']
  t.equal(flag?.enabled, true)
  const audit = await h.ctx.store.listAudit(10)
  t.match(audit.find((a) => a.action === 'flag.enable'), { actor: `migration-run:${run.id}`, target: 'new-checkout' })
  t.equal(seenAt.length, 1, 'one flag change')
  t.ok((await seenAt[0])?.includes('002_orders_customer'), 'the migration was committed when the flag changed')
})

t.test('a failing migration does not activate its flag', async (t) => {
  const h = await harness(t, {
    '001_orders.sql': 'CREATE TABLE orders (id int);\n',
    '002_bad.sql': '-- drawbridge:activates new-checkout\nALTER TABLE orders ADD COLUMN customer_id int;\nSELECT * FROM nope;\n'
  })
  await putFlag(h.ctx, 'test', 'new-checkout', flagBody(null))
  const run = await runToEnd(h)
  t.equal(run.status, 'failed')
  t.match(run.steps.find((s) => s.kind === 'flag'), { name: 'new-checkout', status: 'skipped' })
  t.equal((await h.ctx.store.load()).flags['new-checkout']?.enabled, false)
})

t.test('activating a flag that does not exist fails the run after the commit, and says so', async (t) => {
  const h = await harness(t, { '001_a.sql': '-- drawbridge:activates ghost\nCREATE TABLE a (id int);\n', '002_b.sql': 'CREATE TABLE b (id int);\n' })
  const run = await runToEnd(h)
  t.equal(run.status, 'failed')
  t.match(run.error, { code: 'DRAWBRIDGE_ERR_NOT_FOUND', message: /ghost/ })
  t.same(await appliedNames(h.db), ['001_a'], 'the migration itself stays applied; nothing after runs')
})

t.test('requires is enforced through the flags API until the migration is applied', async (t) => {
  const h = await harness(t, { '001_orders.sql': 'CREATE TABLE orders (id int);\n', '002_orders_customer.sql': 'ALTER TABLE orders ADD COLUMN customer_id int;\n' })
  const app = await buildAdmin(h.ctx, { gatewayAddress: () => '127.0.0.1:8080' })
  t.teardown(async () => { await app.close() })
  // Exactly one migrations plugin is registered by app.ts; keep the harness's service for runs.
  void migrationRoutes

  const put = await app.inject({ method: 'PUT', url: '/v1/flags/new-checkout', payload: { enabled: false, requires: '002_orders_customer' } })
  t.ok(put.statusCode === 200 || put.statusCode === 201, put.body)
  const refused = await app.inject({ method: 'PATCH', url: '/v1/flags/new-checkout', payload: { enabled: true } })
  t.equal(refused.statusCode, 409)
  t.equal(refused.json().code, 'DRAWBRIDGE_ERR_FLAG_REQUIRES_MIGRATION')

  t.equal((await runToEnd(h, { step: 1 })).status, 'succeeded')
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/flags/new-checkout', payload: { enabled: true } })).statusCode, 409, 'still not applied')

  t.equal((await runToEnd(h)).status, 'succeeded')
  const ok = await app.inject({ method: 'PATCH', url: '/v1/flags/new-checkout', payload: { enabled: true } })
  t.equal(ok.statusCode, 200, ok.body)
  t.equal(ok.json().enabled, true)
})
