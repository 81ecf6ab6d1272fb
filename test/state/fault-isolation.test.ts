import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { ADMIN_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'
import { createLogger } from '../../src/logger.js'
import { MemoryStore } from '../../src/state/memory-store.js'
import { StateHolder } from '../../src/state/state-holder.js'
import { initialState } from '../../src/state/initial-state.js'
import type { SharedState } from '../../src/state/types.js'

// Issue 17 "fault isolation": a state that fails to compile, from any source, never crashes the process.
const admin = auth(ADMIN_TOKEN)

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-fault-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

function stateFile (dir: string, state: unknown): string {
  const file = join(dir, 'state.json')
  writeFileSync(file, JSON.stringify({ drawbridgeState: 1, state, audit: [] }))
  return file
}

async function until (check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await sleep(25)
  }
  throw new Error(`timed out waiting for ${what}`)
}

t.test('a state file an older version wrote with a CRLF redirect is refused, readyz says why, a PATCH repairs it', async (t) => {
  const old = initialState()
  old.version = 7
  old.maintenance = { ...old.maintenance, enabled: true, redirect: '/x\r\nSet-Cookie: pwn=1' }
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--state-file', stateFile(tempDir(t), old)])
  t.equal(ctx.holder.current, null, 'the refused state is not served')
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { ready: false, reason: /state version 7 refused: state\.maintenance\.redirect must be visible ASCII.*serving the fail policy/ })

  const repaired = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { redirect: null } })
  t.equal(repaired.statusCode, 200)
  await until(() => ctx.holder.current?.version === 8, 'the repaired state')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
  t.match((await app.inject({ method: 'GET', url: '/v1/maintenance', headers: admin })).json(), { enabled: true, redirect: null })
})

t.test('a shape-broken flag in the store is refused; the flag routes answer 503, not 500', async (t) => {
  const broken = { ...initialState(), version: 3, flags: { checkout: { key: 'checkout', enabled: 'yes' } } }
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--state-file', stateFile(tempDir(t), broken)])
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.match(ready.json(), { reason: /state\.flags\.checkout/ })
  for (const url of ['/v1/flags', '/v1/flags/checkout', '/v1/users/u1/flags']) {
    const res = await app.inject({ method: 'GET', url, headers: admin })
    t.equal(res.statusCode, 503, url)
    t.match(res.json(), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' }, url)
  }
  const deleted = await app.inject({ method: 'DELETE', url: '/v1/flags/checkout', headers: admin })
  t.equal(deleted.statusCode, 204, 'the broken flag can be deleted')
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200)
})

t.test('one throwing listener neither stops the others nor escapes; readyz reports it until a good state', async (t) => {
  const logger = createLogger('silent')
  const store = new MemoryStore({ logger })
  const holder = new StateHolder(store, logger, 50)
  t.teardown(async () => { holder.stop(); await store.close() })
  await holder.start()
  const seen: number[] = []
  let fail = true
  holder.onChange(() => { if (fail) throw new Error('compile exploded') })
  holder.onChange((s) => { seen.push(s.version) })
  await store.update((d) => d)
  t.same(seen, [0, 1], 'the second listener got every state')
  t.match(holder.health(), { ok: false, reason: /state version 1 failed to compile: compile exploded/ })
  fail = false
  await store.update((d) => d)
  t.match(holder.health(), { ok: true })
  t.same(seen, [0, 1, 2])
})

t.test('a write that would leave an invalid state is refused with 400', async (t) => {
  const logger = createLogger('silent')
  const store = new MemoryStore({ logger })
  t.teardown(async () => { await store.close() })
  await store.load()
  await t.rejects(store.update((d: SharedState) => ({ ...d, maintenance: { ...d.maintenance, redirect: '/\\evil.test' } })),
    { code: 'DRAWBRIDGE_ERR_INVALID', statusCode: 400, message: /would leave an invalid state: state\.maintenance\.redirect/ })
  t.equal((await store.load()).version, 0)
})

t.test('Redis written by another version: the last good state keeps serving, readyz says why', async (t) => {
  const prefix = `drawbridge-test-fault-${process.pid}:`
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true })
  await redis.connect()
  const clean = async (): Promise<void> => { await redis.del(`${prefix}state`, `${prefix}version`, `${prefix}audit`) }
  await clean()
  t.teardown(async () => { await clean(); redis.disconnect() })

  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--redis-url', 'redis://127.0.0.1:6379'], { redis: { keyPrefix: prefix } })
  await until(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200, 'ready')
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { enabled: true, message: 'good' } })).statusCode, 200)
  const good = ctx.holder.current?.version ?? 0

  const foreign = { ...(ctx.holder.current as SharedState), version: good + 1, maintenance: { ...(ctx.holder.current as SharedState).maintenance, allow: '10.0.0.0/8', message: 'foreign' } }
  await redis.set(`${prefix}state`, JSON.stringify(foreign))
  await redis.set(`${prefix}version`, String(good + 1))
  await redis.publish(`${prefix}changes`, JSON.stringify(foreign))
  await until(async () => (await app.inject({ method: 'GET', url: '/readyz' })).statusCode === 503, 'readyz to report the refused state')
  t.match((await app.inject({ method: 'GET', url: '/readyz' })).json(), { reason: new RegExp(`state version ${good + 1} refused: state\\.maintenance\\.allow .*serving version ${good}`) })
  t.equal(ctx.holder.current?.maintenance.message, 'good', 'the last good state is still served')
})

t.test('a window answer a status line cannot carry is refused in a state file; readyz says why', async (t) => {
  const old = initialState()
  old.version = 3
  old.maintenance = { ...old.maintenance, enabled: true, status: 1000, refresh: -1 }
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--state-file', stateFile(tempDir(t), old)])
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { ready: false, reason: /state version 3 refused: state\.maintenance\.status expected union/ })
  const repaired = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { status: null, refresh: null } })
  t.equal(repaired.statusCode, 200)
  t.match(repaired.json(), { enabled: true, status: 503, refresh: null, page: null })
})
