import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import type { SharedState } from '../../src/state/types.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { ADMIN_TOKEN, gatewayStatus, patchMaintenance, readyz } from './gateway-client.js'
import { eventually, freePort, killProcess, rawRedis, startRedisServer } from './helpers.js'

// Issue 14: a rolling restart during a Redis outage must not open the gate.

function cachedState (path: string): SharedState | null {
  if (!existsSync(path)) return null
  return (JSON.parse(readFileSync(path, 'utf8')) as { state: SharedState }).state
}

async function maintenanceMessage (gateway: string): Promise<{ status: number, message: unknown }> {
  const res = await request(`http://${gateway}/page`, { headers: { accept: 'application/json' } })
  const text = await res.body.text()
  return { status: res.statusCode, message: res.statusCode === 503 ? (JSON.parse(text) as { message: unknown }).message : null }
}

t.test('a gateway restarted while Redis is down serves its cached state, says so on /readyz, and catches up when Redis returns', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-cache-e2e-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const cache = join(dir, 'state-cache.json')
  const upstream = await startUpstream(t)
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  // --dir: an explicit SAVE survives the restart, so Redis comes back with what it held.
  let redis = await startRedisServer(port, ['--dir', dir])
  t.teardown(async () => { await killProcess(redis) })
  const base = ['--upstream', upstream.url, '--redis-url', url, '--admin-token', ADMIN_TOKEN, '--resync-interval-ms', '500']
  const withCache = [...base, '--state-cache', cache]

  const first = await spawnGateway(t, withCache)
  const on = await patchMaintenance(first, { enabled: true, message: 'upgrading' })
  t.equal(on.status, 200)
  const onVersion = (await readyz(first)).body.version as number
  await eventually(() => cachedState(cache)?.version === onVersion, 3000, 'state cached')
  t.equal(await first.stop(), 0, 'stopped cleanly')

  // While no replica is running, the store moves on: what the restarted one must catch up with.
  const raw = await rawRedis(t, url)
  const stored = JSON.parse(await raw.get('drawbridge:state') ?? '{}') as SharedState
  const newer: SharedState = { ...stored, version: stored.version + 1, maintenance: { ...stored.maintenance, message: 'still upgrading' } }
  await raw.mset('drawbridge:state', JSON.stringify(newer), 'drawbridge:version', String(newer.version))
  await raw.save()
  raw.disconnect()
  await killProcess(redis)

  // Without the cache, the default fail-open policy would open the gate: the problem the cache solves.
  const uncached = await spawnGateway(t, base)
  t.equal(await gatewayStatus(uncached), 200, 'control: no cache, Redis down → the fail policy proxies')
  t.match(await readyz(uncached, '?exclude=store'), { status: 503, body: { reason: /^state not loaded/ } }, 'nothing known: not even ready for a startup probe')
  await uncached.stop()

  const restarted = await spawnGateway(t, withCache)
  t.same(await maintenanceMessage(restarted.gateway), { status: 503, message: 'upgrading' }, 'the cached maintenance state serves')
  const ready = await readyz(restarted)
  t.equal(ready.status, 503)
  t.match(ready.body.reason, new RegExp(`^serving the cached state of \\S+ \\(version ${onVersion}\\) until the store answers: .*redis unreachable`))
  t.comment(`/readyz while Redis is down: ${ready.body.reason ?? ''}`)
  t.same(await readyz(restarted, '?exclude=store'), { status: 200, body: { ready: true, version: onVersion } }, 'a startup probe on /readyz?exclude=store lets the cached state serve')
  t.equal((await readyz(restarted, '?exclude=everything')).status, 400, 'only the store can be excluded')
  const refused = await patchMaintenance(restarted, { enabled: false })
  t.match(refused, { status: 503, body: { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' } }, 'a write is refused, not lost')

  redis = await startRedisServer(port, ['--dir', dir])
  const back = performance.now()
  await eventually(async () => (await maintenanceMessage(restarted.gateway)).message === 'still upgrading', 10_000, 'caught up with the store')
  const caughtUp = performance.now() - back
  await eventually(async () => (await readyz(restarted)).status === 200, 10_000, 'ready')
  t.same((await readyz(restarted)).body, { ready: true, version: newer.version }, 'the store\'s state, and ready')
  await eventually(() => cachedState(cache)?.version === newer.version, 3000, 'cache rewritten from the store')
  t.comment(`Redis back: the restarted gateway served the store's state after ${caughtUp.toFixed(0)} ms`)
  t.equal((await patchMaintenance(restarted, { enabled: false })).status, 200, 'writes work again')
  t.equal(await gatewayStatus(restarted), 200)
})
