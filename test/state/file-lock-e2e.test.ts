import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { startUpstream } from '../helpers/upstream.js'
import { runDrawbridge, spawnGateway } from '../helpers/spawn-gateway.js'

const TOKEN = 'file-lock-admin-token-0123456789'

function stateFileIn (): string {
  return join(mkdtempSync(join(tmpdir(), 'drawbridge-lock-')), 'state.json')
}

async function maintenanceEnabled (admin: string): Promise<boolean> {
  const res = await request(`http://${admin}/v1/maintenance`, { headers: { authorization: `Bearer ${TOKEN}` } })
  return (await res.body.json() as { enabled: boolean }).enabled
}

t.test('a second process on the same --state-file exits 2 naming the owner; the first keeps its state', async (t) => {
  const upstream = await startUpstream(t)
  const stateFile = stateFileIn()
  const args = ['--upstream', upstream.url, '--admin-token', TOKEN, '--state-file', stateFile]
  const first = await spawnGateway(t, args)
  const lock = JSON.parse(readFileSync(`${stateFile}.lock`, 'utf8')) as { pid: number, host: string }
  t.equal(lock.pid, first.proc.pid)
  t.equal(lock.host, hostname())

  const res = await request(`http://${first.admin}/v1/maintenance`, {
    method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ enabled: true })
  })
  t.equal(res.statusCode, 200)
  await res.body.dump()

  const second = await runDrawbridge(['serve', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...args])
  t.equal(second.code, 2)
  t.match(second.stderr, new RegExp(`stateFile: .*state\\.json is in use by pid ${String(first.proc.pid)} on host ${hostname()}`))
  t.equal(second.stderr.trim().split('\n').length, 1, 'one line')
  t.notMatch(second.stdout, /drawbridge ready/, 'it never listened')

  // The first process's state and lock are untouched; a clean stop removes the lock, and the state survives a restart.
  t.equal(await maintenanceEnabled(first.admin), true)
  t.equal(await first.stop(), 0)
  t.notOk(existsSync(`${stateFile}.lock`), 'a clean shutdown releases the lock')
  const again = await spawnGateway(t, args)
  t.equal(await maintenanceEnabled(again.admin), true, 'maintenance switched on through the first process survived')
})

t.test('a lock left by a killed process is stale and taken over; a lock of another host is not', async (t) => {
  const upstream = await startUpstream(t)
  const stateFile = stateFileIn()
  const args = ['--upstream', upstream.url, '--admin-token', TOKEN, '--state-file', stateFile]
  const killed = await spawnGateway(t, args)
  await killed.stop('SIGKILL')
  t.ok(existsSync(`${stateFile}.lock`), 'SIGKILL leaves the lock behind')

  const next = await spawnGateway(t, args)
  t.match(next.logs(), /taking over a stale state file lock/)
  t.equal((JSON.parse(readFileSync(`${stateFile}.lock`, 'utf8')) as { pid: number }).pid, next.proc.pid)
  await next.stop()

  writeFileSync(`${stateFile}.lock`, JSON.stringify({ pid: 1, host: 'some-other-host', startedAt: '2026-12-01T00:00:00.000Z' }))
  const refused = await runDrawbridge(['serve', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', ...args])
  t.equal(refused.code, 2)
  t.match(refused.stderr, /in use by pid 1 on host some-other-host \(since 2026-12-01T00:00:00\.000Z\)/)
})
