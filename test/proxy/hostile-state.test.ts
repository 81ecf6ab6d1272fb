import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { initialState } from '../../src/state/initial-state.js'
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

// Issue 17 case 4 against the real binary: admin input and stored states that used to kill the process.
const TOKEN = 'hostile-admin-token-0123456789'
const admin = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-hostile-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

async function call (base: string, method: 'GET' | 'PATCH' | 'PUT', path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, text: string }> {
  const res = await request(`http://${base}${path}`, { method, headers: body === undefined ? headers : { ...admin, ...headers }, body: body === undefined ? undefined : JSON.stringify(body), reset: true })
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() }
}

/** Sends raw bytes on a fresh connection and returns everything the gateway wrote before closing (or 1 s). */
async function raw (address: string, bytes: string): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))]
  return await new Promise((resolve) => {
    let out = ''
    const socket = connect(port, host, () => { socket.write(bytes) })
    const done = (): void => { socket.destroy(); resolve(out) }
    socket.setEncoding('latin1').on('data', (d: string) => { out += d })
    socket.on('end', done).on('error', done)
    setTimeout(done, 1000)
  })
}

function alive (gw: SpawnedGateway): boolean {
  return gw.proc.exitCode === null && gw.proc.signalCode === null
}

t.test('hostile redirects are refused at PATCH; the gateway keeps answering, before and after a restart', async (t) => {
  const upstream = await startUpstream(t)
  const file = join(tempDir(t), 'state.json')
  const args = ['--upstream', upstream.url, '--admin-token', TOKEN, '--state-file', file]
  let gw = await spawnGateway(t, args)
  t.equal((await call(gw.admin, 'PATCH', '/v1/maintenance', { enabled: true })).status, 200)
  for (const redirect of ['/x\r\nSet-Cookie: pwn=1', '/€', '/a\u0000b', '/\\evil.test', '/\t/evil.test']) {
    const res = await call(gw.admin, 'PATCH', '/v1/maintenance', { redirect })
    t.equal(res.status, 400, JSON.stringify(redirect))
    t.match(JSON.parse(res.text), { code: 'DRAWBRIDGE_ERR_INVALID', message: /^redirect / })
    t.equal((await call(gw.gateway, 'GET', '/')).status, 503, 'the next gateway request is answered')
  }
  const upgrade = await raw(gw.gateway, 'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  t.match(upgrade, /^HTTP\/1\.1 503 /)
  t.ok(alive(gw), 'still running')
  await gw.stop()
  gw = await spawnGateway(t, args)
  t.equal((await call(gw.gateway, 'GET', '/')).status, 503, 'restarts serve the saved state')
  t.equal((await call(gw.admin, 'GET', '/readyz')).status, 200)
})

t.test('a state file an older version wrote with a CRLF redirect: no crash, no response splitting, readyz says why', async (t) => {
  const upstream = await startUpstream(t)
  const state = initialState()
  state.version = 4
  state.maintenance = { ...state.maintenance, enabled: true, redirect: '/x\r\nSet-Cookie: pwn=1' }
  const file = join(tempDir(t), 'state.json')
  writeFileSync(file, JSON.stringify({ drawbridgeState: 1, state, audit: [] }))
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--state-file', file, '--fail-policy', 'closed'])

  const page = await call(gw.gateway, 'GET', '/')
  t.equal(page.status, 503, 'the fail policy serves (closed: the maintenance page)')
  t.equal(page.headers['set-cookie'], undefined)
  const upgrade = await raw(gw.gateway, 'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n')
  t.match(upgrade, /^HTTP\/1\.1 503 /)
  t.notMatch(upgrade, /pwn/i, 'no header was injected')
  await sleep(1500)
  t.ok(alive(gw), 'still running')
  const ready = await call(gw.admin, 'GET', '/readyz')
  t.equal(ready.status, 503)
  t.match(JSON.parse(ready.text), { ready: false, reason: /state version 4 refused: state\.maintenance\.redirect/ })
  t.equal(gw.logs().split('state refused').length - 1, 1, 'the refusal is logged once')

  t.equal((await call(gw.admin, 'PATCH', '/v1/maintenance', { redirect: null })).status, 200, 'an operator repairs it through the API')
  t.equal((await call(gw.admin, 'GET', '/readyz')).status, 200)
  t.equal((await call(gw.gateway, 'GET', '/')).status, 503, 'maintenance from the repaired state')
})

t.test('shape-broken or truncated state files: the process starts, serves its fail policy and says why', async (t) => {
  const upstream = await startUpstream(t)
  const dir = tempDir(t)
  for (const [name, content, reason] of [
    ['truncated.json', '{"drawbridgeState":1,"state":{"version":3,', /is corrupt/],
    ['shape.json', JSON.stringify({ drawbridgeState: 1, state: { version: 'x' } }), /is corrupt: state\.version/],
    ['flags.json', JSON.stringify({ drawbridgeState: 1, state: { ...initialState(), version: 2, flags: { a: 5 } } }), /state version 2 refused: state\.flags\.a/]
  ] as const) {
    const file = join(dir, name)
    writeFileSync(file, content)
    const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--state-file', file])
    t.equal((await call(gw.gateway, 'GET', '/x')).status, 200, `${name}: proxied (fail open)`)
    const ready = await call(gw.admin, 'GET', '/readyz')
    t.equal(ready.status, 503, name)
    t.match(JSON.parse(ready.text), { reason }, name)
    t.ok(alive(gw), `${name}: still running`)
    await gw.stop()
  }
})

t.test('flag keys and user ids named after Object.prototype members: the gateway keeps proxying', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--flags-identity', 'header:x-user'])
  t.equal((await call(gw.admin, 'GET', '/v1/flags/constructor', undefined, { authorization: `Bearer ${TOKEN}` })).status, 404)
  t.equal((await call(gw.admin, 'PUT', '/v1/flags/constructor', { enabled: true, rollout: { percentage: 0 } })).status, 201)
  t.equal((await call(gw.admin, 'PUT', '/v1/flags/constructor/overrides/__proto__', { enabled: true })).status, 200)
  await sleep(100)
  const stranger = await call(gw.gateway, 'GET', '/a', undefined, { 'x-user': 'someone' })
  t.equal(stranger.status, 200)
  t.equal(JSON.parse(stranger.text).headers['x-drawbridge-flags'], undefined, 'off for a user outside the rollout')
  const proto = await call(gw.gateway, 'GET', '/a', undefined, { 'x-user': '__proto__' })
  t.equal(JSON.parse(proto.text).headers['x-drawbridge-flags'], 'constructor', 'the __proto__ override is served')
  t.ok(alive(gw))
})
