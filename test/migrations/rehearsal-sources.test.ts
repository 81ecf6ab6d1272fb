import { symlink, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import pg from 'pg'
import t from 'tap'
import { buildAdmin } from '../../src/admin/app.js'
import type { Config } from '../../src/config/schema.js'
import { resolveBackupFile, takeBackup } from '../../src/migrations/backup.js'
import { LOCK_CLASS, RUN_LOCK } from '../../src/migrations/migration-db.js'
import { appliedNames, harness, runToEnd, SERVER_URL, tableNames, urlFor, writeMigrations, type Harness } from './helpers.js'

/*
 * Rehearsals beyond the measurements: a failing migration, a kept copy, a
 * backup as the source (and names that must not reach the file system), one
 * at a time, never during a run, a run that requires one, and the HTTP shape
 * of CONTRACT section 8 with its event stream. Small tables: fast.
 */

const ADMIN = 'admin-token-0123456789abcdef'
const auth = { authorization: `Bearer ${ADMIN}` }

async function databaseExists (name: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: SERVER_URL })
  await c.connect()
  const { rows } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
  await c.end()
  return rows.length > 0
}

async function dropDatabase (name: string): Promise<void> {
  const c = new pg.Client({ connectionString: SERVER_URL })
  await c.connect()
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await c.end()
}

async function rehearse (h: Harness, body: Parameters<Harness['service']['startRehearsal']>[0] = {}) {
  const { id } = await h.service.startRehearsal(body, 'test')
  const r = await h.service.rehearsals.wait(id)
  if (r === null) throw new Error(`rehearsal ${id} vanished`)
  return r
}

const BASE = { '001_items.sql': 'CREATE TABLE items (id int PRIMARY KEY, name text);\nINSERT INTO items SELECT g, \'item \' || g FROM generate_series(1, 1000) g;\n' }

t.test('a failing migration fails the rehearsal with its error; the live database is untouched', async (t) => {
  const h = await harness(t, BASE)
  t.equal((await runToEnd(h)).status, 'succeeded')
  await writeMigrations(h.dir, {
    '002_tags.sql': 'CREATE TABLE tags (id int);\n',
    '003_fail.sql': 'ALTER TABLE items ADD COLUMN price int;\nSELECT * FROM missing_table;\n',
    '004_never.sql': 'CREATE TABLE never (id int);\n'
  })
  const r = await rehearse(h)
  t.equal(r.status, 'failed')
  t.match(r.error, { code: 'DRAWBRIDGE_ERR_DATABASE', message: /003_fail line 2: relation "missing_table" does not exist/ })
  t.same(r.migrations.map((m) => [m.name, m.status]), [['002_tags', 'applied'], ['003_fail', 'failed']], 'stopped at the failure, like a run')
  t.match(r.migrations[1], { error: /missing_table/, statements: [{ line: 1 }, { line: 2, error: /missing_table/ }] })
  t.same(await tableNames(h.db), ['drawbridge_migration_runs', 'drawbridge_migrations', 'items'], 'live: no table of the rehearsal')
  t.same(await appliedNames(h.db), ['001_items'])
  t.equal(await databaseExists(r.database), false, 'dropped after a failure too')
})

t.test('keep: true leaves the scratch copy with the migrations applied and recorded', async (t) => {
  const h = await harness(t, BASE)
  t.equal((await runToEnd(h)).status, 'succeeded')
  await writeMigrations(h.dir, { '002_tags.sql': 'CREATE TABLE tags (id int);\n' })
  const r = await rehearse(h, { keep: true })
  t.teardown(async () => { await dropDatabase(r.database) })
  t.equal(r.status, 'succeeded', r.log.map((l) => l.msg).join('\n'))
  t.equal(r.dropped, false)
  t.equal(await databaseExists(r.database), true, 'kept')
  const copy = new pg.Client({ connectionString: urlFor(r.database) })
  await copy.connect()
  t.teardown(async () => { await copy.end() })
  const tracked = (await copy.query('SELECT name, applied_by FROM drawbridge_migrations ORDER BY name')).rows
  t.same(tracked, [{ name: '001_items', applied_by: 'test' }, { name: '002_tags', applied_by: `rehearsal:${r.id}` }])
  t.equal((await copy.query('SELECT count(*)::int AS n FROM items')).rows[0].n, 1000, 'the data came along')
  t.match(r.log.map((l) => l.msg).join('\n'), new RegExp(`kept \\(keep: true\\); drop it with: DROP DATABASE ${r.database}`))
})

t.test('from a backup file: what the migrations would do to the database as it was then', async (t) => {
  const h = await harness(t, BASE)
  t.equal((await runToEnd(h)).status, 'succeeded')
  const backup = await takeBackup(h.db.url, h.backupDir, 'before-tags')
  await writeMigrations(h.dir, { '002_tags.sql': 'CREATE TABLE tags (id int);\n' })
  t.equal((await runToEnd(h)).status, 'succeeded', 'live moved on')
  await writeMigrations(h.dir, { '003_labels.sql': 'CREATE TABLE labels (id int);\n' })

  const fromLive = await rehearse(h)
  t.same(fromLive.migrations.map((m) => m.name), ['003_labels'])
  const fromBackup = await rehearse(h, { source: 'backup', backup: basename(backup.file) })
  t.equal(fromBackup.status, 'succeeded', fromBackup.log.map((l) => l.msg).join('\n'))
  t.match(fromBackup, { source: 'backup', backup: basename(backup.file), pending: 2 })
  t.same(fromBackup.migrations.map((m) => m.name), ['002_tags', '003_labels'], 'pending as of the backup')
  t.equal(await databaseExists(fromBackup.database), false)
  t.equal(await resolveBackupFile(h.backupDir, backup.file), backup.file, 'the full path `migrate status` shows is accepted when it is in the backup directory')

  await writeFile(join(h.backupDir, 'outside'), 'x')
  await symlink('/etc/passwd', join(h.backupDir, 'link.dump'))
  for (const [body, code, message] of [
    [{ source: 'backup', backup: '../../etc/passwd' }, 'DRAWBRIDGE_ERR_INVALID', /not the name of a file in the backup directory/],
    [{ source: 'backup', backup: '/etc/passwd' }, 'DRAWBRIDGE_ERR_INVALID', /not the name of a file/],
    [{ source: 'backup', backup: '.hidden' }, 'DRAWBRIDGE_ERR_INVALID', /not the name of a file/],
    [{ source: 'backup', backup: 'link.dump' }, 'DRAWBRIDGE_ERR_INVALID', /not a regular file/],
    [{ source: 'backup', backup: 'nope.dump' }, 'DRAWBRIDGE_ERR_NOT_FOUND', /No backup nope\.dump/],
    [{ source: 'backup' }, 'DRAWBRIDGE_ERR_INVALID', /backup: required/],
    [{ source: 'live', backup: 'x.dump' }, 'DRAWBRIDGE_ERR_INVALID', /only with source "backup"/]
  ] as const) {
    await t.rejects(h.service.startRehearsal(body, 'test'), { code, message }, JSON.stringify(body))
  }
  const broken = await rehearse(h, { source: 'backup', backup: 'outside' })
  t.match(broken, { status: 'failed', error: { message: /pg_restore/ } }, 'a file that is no dump fails the rehearsal, with pg_restore\'s reason')
  t.equal(await databaseExists(broken.database), false)
})

t.test('one rehearsal at a time, none while a run holds the lock; a run may require one', async (t) => {
  const h = await harness(t, BASE)
  t.equal((await runToEnd(h)).status, 'succeeded')
  await writeMigrations(h.dir, { '002_tags.sql': 'CREATE TABLE tags (id int);\n' })

  const first = await h.service.startRehearsal({}, 'test')
  await t.rejects(h.service.startRehearsal({}, 'test'), { code: 'DRAWBRIDGE_ERR_REHEARSAL_BUSY', statusCode: 409, message: new RegExp(first.id) })
  t.equal((await h.service.rehearsals.wait(first.id))?.status, 'succeeded')

  const runner = new pg.Client({ connectionString: h.db.url })
  await runner.connect()
  await runner.query('SELECT pg_advisory_lock($1::int, $2::int)', [LOCK_CLASS, RUN_LOCK])
  await t.rejects(h.service.startRehearsal({}, 'test'), { code: 'DRAWBRIDGE_ERR_MIGRATION_LOCKED' }, 'not while a run migrates live')
  await runner.end()

  await writeMigrations(h.dir, { '002_tags.sql': 'CREATE TABLE tags (id int, name text);\n' })
  await t.rejects(h.service.startRun({ requireRehearsal: true }, 'test'), { code: 'DRAWBRIDGE_ERR_REHEARSAL_REQUIRED', statusCode: 409, message: /002_tags/ },
    'the file changed since its rehearsal: its checksum no longer matches')
  t.same(await appliedNames(h.db), ['001_items'], 'nothing applied')
  t.equal((await rehearse(h)).status, 'succeeded')
  const run = await runToEnd(h, { requireRehearsal: true, maintenance: 'always' })
  t.equal(run.status, 'succeeded', run.log.map((l) => l.msg).join('\n'))
  t.match(run.log.map((l) => l.msg).join('\n'), /a rehearsal of these files took [\d.]+ s: the page shows that as the estimate/)
  t.same(await appliedNames(h.db), ['001_items', '002_tags'])
  t.equal((await h.ctx.store.load()).progress ?? null, null, 'the run cleared its progress')
})

t.test('what the lock sampling can and cannot miss, with polling all but off', async (t) => {
  // One poll a minute: only the look right after each statement sees anything.
  const h = await harness(t, BASE, { lockPollMs: 60_000 })
  t.equal((await runToEnd(h)).status, 'succeeded')
  await writeMigrations(h.dir, {
    '002_note.sql': 'ALTER TABLE items ADD COLUMN note text;\n',
    '003_extra.sql': '-- drawbridge:no-transaction\nALTER TABLE items ADD COLUMN extra text;\n'
  })
  const r = await rehearse(h)
  t.equal(r.status, 'succeeded', r.log.map((l) => l.msg).join('\n'))
  t.equal(r.lockPollMs, 60_000)
  t.match(r.migrations[0]?.statements[0]?.locks, [{ relation: 'items', mode: 'AccessExclusiveLock' }],
    'in a transaction the lock is held until COMMIT: never missed, whatever the interval')
  t.same(r.migrations[1]?.statements[0]?.locks, [],
    'without a transaction a lock shorter than the interval is released before anyone looks: the documented blind spot')
  t.equal(r.migrations[1]?.verdict, 'blocks neither reads nor writes')
})

t.test('shutting down mid-rehearsal cancels the statement and drops the scratch copy', async (t) => {
  const h = await harness(t, BASE)
  t.equal((await runToEnd(h)).status, 'succeeded')
  await writeMigrations(h.dir, { '002_slow.sql': 'CREATE TABLE slow (id int);\nSELECT pg_sleep(60);\n' })
  const { id } = await h.service.startRehearsal({}, 'test')
  for (let i = 0; i < 600 && !(h.service.rehearsals.get(id)?.log.some((l) => /002_slow: applying/.test(l.msg)) ?? false); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const started = Date.now()
  await h.service.close()
  t.ok(Date.now() - started < 10_000, `did not wait for pg_sleep(60) (${Date.now() - started} ms)`)
  const r = h.service.rehearsals.get(id)
  t.match(r, { status: 'failed', dropped: true, error: { code: 'DRAWBRIDGE_ERR_MIGRATION_INTERRUPTED', message: /gateway shutting down/ } })
  t.equal(await databaseExists(r?.database ?? ''), false, 'the scratch database is gone')
  t.same(await tableNames(h.db), ['drawbridge_migration_runs', 'drawbridge_migrations', 'items'])
})

t.test('over HTTP: 202, the contract\'s shape, the event stream, 404 and 400', async (t) => {
  const h = await harness(t, BASE)
  t.equal((await runToEnd(h)).status, 'succeeded')
  await writeMigrations(h.dir, { '002_tags.sql': 'CREATE TABLE tags (id int);\nINSERT INTO tags SELECT g FROM generate_series(1, 10) g;\n' })
  const app = await buildAdmin({ ...h.ctx, config: { ...h.ctx.config, adminToken: ADMIN } as Config }, { gatewayAddress: () => '127.0.0.1:8080' })
  t.teardown(async () => { await app.close() })

  const started = await app.inject({ method: 'POST', url: '/v1/migrations/rehearsals', headers: auth, payload: { source: 'live', keep: false } })
  t.equal(started.statusCode, 202, started.body)
  const { id } = started.json()
  t.equal(started.headers.location, `/v1/migrations/rehearsals/${id}`)
  const events = await app.inject({ method: 'GET', url: `/v1/migrations/rehearsals/${id}/events`, headers: auth })
  t.match(events.headers['content-type'], /text\/event-stream/)
  const names = [...events.body.matchAll(/^event: (\w+)$/gm)].map((m) => m[1])
  t.equal(names[0], 'status')
  t.ok(names.includes('log') && names.includes('migration'), names.join(','))
  t.equal(names.at(-1), 'end')

  const res = await app.inject({ method: 'GET', url: `/v1/migrations/rehearsals/${id}`, headers: auth })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.match(body, {
    id,
    status: 'succeeded',
    database: /^drawbridge_rehearsal_/,
    migrations: [{ name: '002_tags', status: 'applied', ms: Number, statements: [{ line: 1, ms: Number, rewrote: false, locks: Array }, { line: 2, ms: Number, rewrote: false, locks: Array }] }],
    findings: Array
  })
  t.match((await app.inject({ method: 'GET', url: '/v1/migrations/rehearsals', headers: auth })).json(), { rehearsals: [{ id }] })
  t.equal((await app.inject({ method: 'GET', url: '/v1/migrations/rehearsals/nope', headers: auth })).statusCode, 404)
  const bad = await app.inject({ method: 'POST', url: '/v1/migrations/rehearsals', headers: auth, payload: { source: 'staging' } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message: /source/ })
  t.equal((await app.inject({ method: 'POST', url: '/v1/migrations/rehearsals', headers: auth, payload: { keep: true, extra: 1 } })).statusCode, 400, 'unknown fields refused')
})
