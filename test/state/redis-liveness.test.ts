import t, { type Test } from 'tap'
import { redisOptionsFromConfig } from '../../src/state/redis-options.js'
import { RedisStore } from '../../src/state/redis-store.js'
import { freePort, silentLogger, uniquePrefix } from './helpers.js'
import { baseArgs, client, startRedis, tempDir, until } from './redis-processes.js'

// A single Redis that stops answering without closing its connections (frozen
// with SIGSTOP: its kernel still accepts and acknowledges), or that turns
// replica under the store: the liveness probe must notice, say so in
// health() (so /readyz), and recover once the server is back as a master.
const dir = tempDir(t, 'redis-liveness')

function openStore (t: Test, port: number): RedisStore {
  const store = new RedisStore({
    logger: silentLogger,
    connection: redisOptionsFromConfig({ redisUrl: `redis://127.0.0.1:${port}` }),
    keyPrefix: uniquePrefix('liveness'),
    resyncIntervalMs: 5000
  })
  t.teardown(() => store.close())
  return store
}

t.test('a frozen Redis is reported within seconds, and the store recovers when it resumes', async (t) => {
  const port = await freePort()
  const redis = await startRedis(t, port, baseArgs(port, dir))
  const store = openStore(t, port)
  await store.update((d) => { d.maintenance.message = 'before the freeze'; return d })
  t.same(store.health(), { ok: true, reason: null })

  redis.proc.kill('SIGSTOP')
  const detectMs = await until('health reports the frozen server', async () => !store.health().ok, 6000, 20)
  t.comment(`frozen Redis reported after ${detectMs.toFixed(0)} ms: ${JSON.stringify(store.health())}`)
  t.ok(detectMs < 4500, 'within a probe round and its timeout (3 s), with slack for a loaded machine')
  t.match(store.health().reason, /redis unreachable: (no reply within 2000 ms|Command timed out|.*Ready check failed)/)
  const started = performance.now()
  await t.rejects(store.update((d) => d), { code: 'DRAWBRIDGE_ERR_STORE_UNAVAILABLE' }, 'a write is refused')
  t.ok(performance.now() - started < 2500, 'within the command timeout')

  redis.proc.kill('SIGCONT')
  const backMs = await until('healthy again', async () => store.health().ok, 8000, 20)
  t.comment(`healthy ${backMs.toFixed(0)} ms after SIGCONT`)
  const after = await store.update((d) => { d.maintenance.message = 'after the freeze'; return d })
  t.equal(after.maintenance.message, 'after the freeze')
})

t.test('a master turned replica under the store is reported until it is a master again', async (t) => {
  const [port, otherPort] = [await freePort(), await freePort()]
  await startRedis(t, otherPort, baseArgs(otherPort, dir))
  await startRedis(t, port, baseArgs(port, dir))
  const store = openStore(t, port)
  await store.load()
  const admin = await client(t, { port })
  await admin.call('REPLICAOF', '127.0.0.1', String(otherPort))
  await until('health reports the replica', async () => !store.health().ok, 4000, 20)
  t.match(store.health(), { ok: false, reason: /connected to a slave, not a master/ })
  // It stays reported across the reconnects the probe makes, instead of flapping back to ok.
  const samples: boolean[] = []
  for (let i = 0; i < 20; i++) { samples.push(store.health().ok); await new Promise((resolve) => setTimeout(resolve, 100)) }
  t.same(samples.filter(Boolean), [], 'never ok while connected to a replica')
  await admin.call('REPLICAOF', 'NO', 'ONE')
  await until('healthy again', async () => store.health().ok, 4000, 20)
  t.pass('a master again: healthy')
})
