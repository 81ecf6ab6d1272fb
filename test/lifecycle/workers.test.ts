import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { request } from 'undici'
import { startUpstream } from '../helpers/upstream.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const TOKEN = 'workers-test-admin-token-0123'

function childPids (pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

t.test('--workers 2 shares the gateway port, announces once, agrees on state, stops on SIGTERM', async (t) => {
  const upstream = await startUpstream(t)
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-workers-'))
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({ redis: { keyPrefix: `drawbridge-test-workers-${randomBytes(6).toString('hex')}:` } }))
  const gw = await spawnGateway(t, ['--config', config, '--upstream', upstream.url, '--redis-url', REDIS_URL, '--admin-token', TOKEN, '--workers', '2'])

  const workers = childPids(gw.proc.pid as number)
  t.equal(workers.length, 2, 'two worker processes under the primary')
  t.equal(gw.logs().split('\n').filter((l) => l.includes('"drawbridge ready"')).length, 1, 'one ready line for the whole cluster')

  const status = async (): Promise<number> => {
    // A fresh connection each time, so round-robin spreads them over both workers.
    const res = await request(`http://${gw.gateway}/x`, { reset: true })
    await res.body.dump()
    return res.statusCode
  }
  for (let i = 0; i < 6; i++) t.equal(await status(), 200, 'proxied')

  const patch = await request(`http://${gw.admin}/v1/maintenance`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ enabled: true })
  })
  t.equal(patch.statusCode, 200)
  await patch.body.dump()
  await sleep(1000)
  const answers = []
  for (let i = 0; i < 10; i++) answers.push(await status())
  t.same(answers, Array(10).fill(503), 'within a second every worker answers 503')

  t.equal(await gw.stop('SIGTERM'), 0, 'the primary exits 0 after its workers drained')
  await sleep(200)
  for (const pid of workers) t.throws(() => process.kill(pid, 0), 'worker is gone')
})
