import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

/*
 * The admin port answers probes and scrapes from a small app and builds the
 * full admin API on the first other request (src/admin/lazy-admin.ts). What
 * must hold: probes never build it, the first requests (however many, with
 * bodies, without tokens) get exactly the answers the full API gives, and it
 * is built once.
 */
const TOKEN = 'lazy-admin-token-0123456789'
const BUILT = 'built the admin API on its first request'

async function start (t: Test): Promise<SpawnedGateway> {
  const upstream = await startUpstream(t)
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-lazy-admin-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--state-file', join(dir, 'state.json'), '--log-level', 'debug'])
}

const builds = (gw: SpawnedGateway): number => gw.logs().split(BUILT).length - 1

async function call (gw: SpawnedGateway, method: 'GET' | 'PATCH', path: string, body?: unknown, token: string | null = TOKEN): Promise<{ status: number, json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token !== null) headers.authorization = `Bearer ${token}`
  const res = await request(`http://${gw.admin}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.body.text()
  return { status: res.statusCode, json: text.startsWith('{') ? JSON.parse(text) as Record<string, unknown> : { text } }
}

t.test('probes and scrapes are answered without building the admin API', async (t) => {
  const gw = await start(t)
  for (let i = 0; i < 3; i++) {
    t.equal((await call(gw, 'GET', '/healthz', undefined, null)).status, 200)
    t.equal((await call(gw, 'GET', '/readyz?probe=1', undefined, null)).status, 200)
    t.equal((await call(gw, 'GET', '/metrics', undefined, null)).status, 200)
  }
  t.equal(builds(gw), 0)
  t.equal((await call(gw, 'GET', '/metrics', undefined, 'wrong-token')).status, 200, 'metrics stays public, as on the full app')
})

t.test('the first requests wait for the build and get the full API\'s answers; it is built once', async (t) => {
  const gw = await start(t)
  const [anonymous, wrongToken, patch, ...reads] = await Promise.all([
    call(gw, 'GET', '/v1/maintenance', undefined, null),
    call(gw, 'GET', '/v1/maintenance', undefined, 'not-the-token'),
    call(gw, 'PATCH', '/v1/maintenance', { enabled: true, message: 'built while you waited' }),
    ...Array.from({ length: 8 }, async () => await call(gw, 'GET', '/v1/flags'))
  ])
  t.equal(anonymous?.status, 401)
  t.equal(anonymous?.json.code, 'DRAWBRIDGE_ERR_UNAUTHORIZED')
  t.equal(wrongToken?.status, 401)
  t.equal(patch?.status, 200, 'a body that arrived during the build is read whole')
  t.equal(patch?.json.message, 'built while you waited')
  for (const read of reads) t.equal(read.status, 200)
  t.equal(builds(gw), 1)

  const invalid = await call(gw, 'PATCH', '/v1/maintenance', { retryAfter: 'soon' })
  t.equal(invalid.status, 400, 'validators compiled on first use still refuse bad bodies')
  t.match(invalid.json.message, /retryAfter/)
  t.equal((await call(gw, 'GET', '/HEALTHZ')).status, 404, 'a probe path spelled otherwise is the full API\'s to refuse')
  t.equal((await call(gw, 'GET', '/healthz', undefined, null)).status, 200)
  t.equal(builds(gw), 1)
  const gateway = await request(`http://${gw.gateway}/`)
  await gateway.body.dump()
  t.equal(gateway.statusCode, 503, 'the change made on the first request reached the gateway')
})
