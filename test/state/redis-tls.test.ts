import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { StoreBudgets } from '../../src/state/budgets.js'
import { redisConnectionFromConfig } from '../../src/state/redis-connection.js'
import { RedisStore } from '../../src/state/redis-store.js'
import { StateHolder } from '../../src/state/state-holder.js'
import { runDrawbridge, spawnGateway, type CliResult } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { ADMIN_TOKEN, gatewayStatus, maintenance, patch, readyz, warmAdmin } from './gateway-client.js'
import { eventually, freePort, silentLogger } from './helpers.js'
import { measurePropagation, type Replica } from './propagation.js'
import { client, tempDir, type RedisProcess } from './redis-processes.js'
import { makeCertificates, startTlsRedis, type TestCertificates } from './redis-topologies.js'
import { storeContract } from './store-contract.js'

// TLS-only redis-servers (--port 0) with a CA and certificates made here with
// openssl: one that checks server certificates only, one that also requires
// a client certificate. Both speak to the store through rediss:// only.
const dir = tempDir(t, 'redis-tls')
let certs: TestCertificates
let tls: RedisProcess
let mutual: RedisProcess
let admin: Redis
// A password with characters that must be percent-encoded in the URL.
const PASSWORD = `pw/${randomBytes(9).toString('hex')}@x`
const USER = 'drawbridge'
const PREFIX = 'drawbridge-tls:'
let stores = 0

t.before(async () => {
  certs = await makeCertificates(dir)
  ;[tls, mutual] = await Promise.all([startTlsRedis(t, dir, certs, false), startTlsRedis(t, dir, certs, true)])
  admin = await client(t, { port: tls.port, tls: { ca: readFileSync(certs.ca, 'utf8') } })
  // The least a store needs: its keys and channel, no @dangerous command but
  // INFO (ioredis's ready check); ROLE is refused, so the liveness probe falls back to PING.
  await admin.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, 'resetkeys', `~${PREFIX}*`, 'resetchannels', `&${PREFIX}*`,
    '-@all', '+@read', '+@write', '+@scripting', '+@pubsub', '+@connection', '+info')
})

function url (port: number, withUser = false): string {
  return `rediss://${withUser ? `${USER}:${encodeURIComponent(PASSWORD)}@` : ''}127.0.0.1:${port}`
}

function openStore (t: Test, keyPrefix: string, options: { user?: boolean, budgets?: Partial<StoreBudgets> } = {}): RedisStore {
  const { options: connection } = redisConnectionFromConfig({ redisUrl: url(tls.port, options.user), redisCaFile: certs.ca })
  const store = new RedisStore({ logger: silentLogger, connection, keyPrefix, resyncIntervalMs: 200, ...(options.budgets === undefined ? {} : { budgets: options.budgets }) })
  t.teardown(() => store.close())
  return store
}

async function replica (t: Test, keyPrefix: string): Promise<Replica> {
  const store = openStore(t, keyPrefix, { user: true })
  const holder = new StateHolder(store, silentLogger, 100)
  t.teardown(() => { holder.stop() })
  await holder.start()
  return { store, holder }
}

t.test('the store contract over TLS (rediss:// and redisCaFile)', async (t) => {
  storeContract(t, async (t, { budgets }) => openStore(t, `${PREFIX}contract${++stores}:`, { budgets }))
})

t.test('an ACL user (name and password in the URL) with only its keys and channel: replicas agree, and stay healthy without ROLE', async (t) => {
  const a = await replica(t, `${PREFIX}acl:`)
  const b = await replica(t, `${PREFIX}acl:`)
  await eventually(() => a.store.health().ok && b.store.health().ok, 5000, 'both connected')
  await measurePropagation(t, a, b, 'redis over TLS, ACL user')
  // A liveness round: the probe's ROLE is refused (NOPERM) and PING stands in, without dropping the connection.
  await new Promise((resolve) => setTimeout(resolve, 1200))
  t.same(a.store.health(), { ok: true, reason: null }, 'still healthy after the probes')
  const denied = await admin.call('ACL', 'LOG').then((log) => (log as unknown[][]).map((entry) => JSON.stringify(entry)).join('\n'))
  t.match(denied, /role/, 'ROLE was tried and refused')
  t.notMatch(denied, /"object","(get|set|evalsha|publish|subscribe)"/, 'nothing the store needs was refused')
})

t.test('the real binary over TLS with a client certificate and an ACL user; the password is never written', async (t) => {
  await admin.call('ACL', 'LOG', 'RESET')
  const upstream = await startUpstream(t)
  const mutualAdmin = await client(t, { port: mutual.port, tls: { ca: readFileSync(certs.ca, 'utf8'), cert: readFileSync(certs.clientCert, 'utf8'), key: readFileSync(certs.clientKey, 'utf8') } })
  await mutualAdmin.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all')
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', ADMIN_TOKEN, '--log-level', 'debug',
    '--redis-url', url(mutual.port, true), '--redis-ca-file', certs.ca, '--redis-cert-file', certs.clientCert, '--redis-key-file', certs.clientKey])
  await warmAdmin(gw)
  t.equal(await patch(gw, { enabled: true, message: 'over TLS' }), 200)
  t.match(await maintenance(gw), { enabled: true, message: 'over TLS' })
  t.equal((await readyz(gw)).status, 200)
  t.equal(await mutualAdmin.get('drawbridge:version'), '1', 'written to the TLS server')
  // A connection that drops and comes back is logged (warn, then info): still without the password.
  t.equal(await mutualAdmin.call('CLIENT', 'KILL', 'USER', USER), 2, 'both connections of the store dropped')
  await eventually(() => gw.logs().includes('redis connection restored'), 5000, 'reconnected')
  t.equal((await readyz(gw)).status, 200)
  const logs = gw.logs()
  t.match(logs, /redis unreachable; keeping the last state/, 'the dropped connection was logged')
  for (const secret of [PASSWORD, encodeURIComponent(PASSWORD)]) t.notOk(logs.includes(secret), 'the password is in no log line')
})

t.test('bad TLS settings stop the binary before it listens (exit 2, one line naming the setting); Redis away does not', async (t) => {
  const upstream = await startUpstream(t)
  const base = ['serve', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--upstream', upstream.url]
  const [wrongCa, noClientCert, wrongPassword] = await Promise.all([
    runDrawbridge([...base, '--redis-url', url(tls.port), '--redis-ca-file', certs.otherCa]),
    runDrawbridge([...base, '--redis-url', url(mutual.port), '--redis-ca-file', certs.ca]),
    runDrawbridge([...base, '--redis-ca-file', certs.ca], { DRAWBRIDGE_REDIS_URL: `rediss://${USER}:wrong-${encodeURIComponent(PASSWORD)}@127.0.0.1:${tls.port}` })
  ])
  const oneLine = (result: CliResult, line: RegExp, what: string): void => {
    t.equal(result.code, 2, `${what}: exit code 2`)
    const lines = result.stderr.split('\n').filter((l) => l !== '')
    t.equal(lines.length, 1, `${what}: one line on stderr: ${result.stderr}`)
    t.match(lines[0], line, what)
    t.notOk(result.stdout.includes('drawbridge ready'), `${what}: never listened`)
    t.notOk((result.stdout + result.stderr).includes(PASSWORD), `${what}: no password shown`)
  }
  oneLine(wrongCa, /^drawbridge: redisCaFile: the Redis server's certificate is not signed by the CA certificates of this file: SELF_SIGNED_CERT_IN_CHAIN$/, 'a CA that did not sign the server certificate')
  oneLine(noClientCert, /^drawbridge: redisCertFile: .*requires a client certificate/, 'no client certificate for a server that requires one')
  oneLine(wrongPassword, /^drawbridge: redisUrl: Redis refused the credentials: WRONGPASS/, 'a wrong password')

  // The same TLS settings with Redis not there yet: it serves per the fail policy (open: proxy) and says so.
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--redis-url', url(await freePort()), '--redis-ca-file', certs.ca])
  t.equal(await gatewayStatus(gw), 200, 'fail-open: proxied')
  t.match(await readyz(gw), { status: 503, body: { reason: /redis unreachable: ECONNREFUSED/ } })
})
