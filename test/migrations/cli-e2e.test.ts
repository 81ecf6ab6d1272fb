import { spawn } from 'node:child_process'
import { copyFile, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { BIN, cleanEnv, ROOT, runDrawbridge, spawnGateway } from '../helpers/spawn-gateway.js'
import { createDatabase, holdLock, tempDir } from './helpers.js'

const TOKEN = 'e2e-admin-token-0123456789'
const EXAMPLES = join(ROOT, 'config', 'example-migrations')

t.test('drawbridge migrate analyze|up|status through the real binary, a failing run, and a gateway killed mid-run', async (t) => {
  const db = await createDatabase(t)
  const dir = await tempDir(t)
  const backupDir = join(await tempDir(t), 'backups')
  for (const f of await readdir(EXAMPLES)) if (f.endsWith('.sql')) await copyFile(join(EXAMPLES, f), join(dir, f))
  const args = ['--upstream', 'http://127.0.0.1:9', '--database-url', db.url, '--migrations-dir', dir, '--backup-dir', backupDir, '--admin-token', TOKEN]
  let gw = await spawnGateway(t, args)
  const env = () => ({ DRAWBRIDGE_ADMIN_URL: `http://${gw.admin}`, DRAWBRIDGE_ADMIN_TOKEN: TOKEN })
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://${gw.admin}${path}`, {
      method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body)
    })
    return { status: res.status, body: await res.json() as any }
  }
  t.equal((await api('PUT', '/v1/flags/new-checkout', { enabled: false, requires: '005_orders_coupon' })).status, 201)

  const analyze = await runDrawbridge(['migrate', 'analyze'], env())
  t.equal(analyze.code, 1, 'high findings: exit 1')
  t.match(analyze.stdout, /007_customers_cleanup:5 {2}HIGH {2}adding-not-nullable-field/)
  t.match(analyze.stdout, /007_customers_cleanup:6 {2}HIGH {2}ban-drop-column/)

  const up = await runDrawbridge(['migrate', 'up', '--backup', '--message', 'Upgrading', '--retry', '60'], env(), 60_000)
  t.equal(up.code, 0, up.stdout + up.stderr)
  t.match(up.stdout, /backup written: .*\.dump/)
  t.match(up.stdout, /maintenance window opened/)
  t.match(up.stdout, /flag new-checkout enabled/)
  t.match(up.stdout, /SUCCEEDED in \d+ ms/)
  t.equal((await api('GET', '/v1/flags/new-checkout')).body.enabled, true)

  const status = await runDrawbridge(['migrate', 'status', '--json'], env())
  t.equal(status.code, 0)
  const report = JSON.parse(status.stdout)
  t.equal(report.applied.length, 7)
  t.same(report.pending, [])
  t.match(report.backup, { exists: true, file: /\.dump$/ })

  await writeFile(join(dir, '008_fail.sql'), 'CREATE TABLE x (id int);\nSELECT * FROM missing_table;\n')
  const failed = await runDrawbridge(['migrate', 'up'], env(), 60_000)
  t.equal(failed.code, 1, 'a failed run exits non-zero')
  t.match(failed.stdout, /FAILED/)
  t.match(failed.stdout, /008_fail line 2: relation "missing_table" does not exist/)

  // Crash: the gateway dies while a migration waits for a table lock.
  await writeFile(join(dir, '008_fail.sql'), 'ALTER TABLE orders ADD COLUMN gift boolean;\n')
  const blocker = await holdLock(t, db.url, 'LOCK TABLE orders IN ACCESS SHARE MODE')
  const cli = spawn(process.execPath, [BIN, 'migrate', 'up', '--lock-timeout', '60000'], { cwd: ROOT, env: cleanEnv(env()), stdio: ['ignore', 'pipe', 'pipe'] })
  const cliExit = new Promise<number | null>((resolve) => { cli.once('close', resolve) })
  let runId = ''
  // Generous: the machine running the suite may be busy.
  for (const deadline = Date.now() + 30_000; runId === '' && Date.now() < deadline;) {
    const runs = (await api('GET', '/v1/migrations/runs?limit=1')).body.runs
    if (runs[0]?.status === 'running' && runs[0]?.steps[0]?.status === 'running') runId = runs[0].id
    else await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.not(runId, '', 'the run is waiting for the lock')
  await gw.stop('SIGKILL')
  t.not(await cliExit, 0, 'the CLI does not report success when its gateway dies')

  gw = await spawnGateway(t, args)
  const dead = await api('GET', `/v1/migrations/runs/${runId}`)
  t.equal(dead.body.status, 'interrupted')
  t.equal((await api('GET', '/v1/migrations')).body.locked, false, 'the lock died with the process')
  await blocker.release()
  const retry = await runDrawbridge(['migrate', 'up'], env(), 60_000)
  t.equal(retry.code, 0, retry.stdout + retry.stderr)
  t.match(retry.stdout, /008_fail: applied/)
  await gw.stop()
})
