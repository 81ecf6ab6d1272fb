import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t, { type Test } from 'tap'
import { buildTestAdmin } from './helpers.js'

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A private redis-server this test may kill without disturbing anyone else's. */
async function startRedis (t: Test): Promise<{ url: string, kill: () => Promise<void> }> {
  const port = await freePort()
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => proc.once('exit', () => { resolve() }))
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    await exited
  }
  t.teardown(kill)
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1')
      socket.once('listening', () => { socket.close(); resolve(false) })
      socket.once('error', () => { resolve(true) })
    })
    if (up) break
    await sleep(50)
  }
  return { url: `redis://127.0.0.1:${port}`, kill }
}

t.test('a replica that has state but lost Redis: readyz 503 with the reason, reads still answer', async (t) => {
  const redis = await startRedis(t)
  const { app } = await buildTestAdmin(t, ['--redis-url', redis.url])
  for (let i = 0; i < 100 && (await app.inject({ method: 'GET', url: '/readyz' })).statusCode !== 200; i++) await sleep(50)
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready once the state loaded')
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { enabled: true, message: 'kept' } })).statusCode, 200)

  await redis.kill()
  let ready = await app.inject({ method: 'GET', url: '/readyz' })
  for (let i = 0; i < 100 && ready.statusCode === 200; i++) {
    await sleep(50)
    ready = await app.inject({ method: 'GET', url: '/readyz' })
  }
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { ready: false, reason: /\S/ })

  const read = await app.inject({ method: 'GET', url: '/v1/maintenance' })
  t.match(read.json(), { enabled: true, message: 'kept' }, 'the last state is still served')
  const write = await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { enabled: false } })
  t.match(write.json(), { statusCode: 503, code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' })
})
