import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import { redisTlsFromConfig } from '../../src/state/redis-connection.js'
import { clusterNodesFromConfig, inOneSlot, keyPrefixFromConfig, reconnectDelay, redisOptionsFromConfig, usesRedis } from '../../src/state/redis-options.js'
import { settingProblem, type FirstFailure } from '../../src/state/redis-verify.js'
import { createStore } from '../../src/state/create-store.js'
import { silentLogger, testConfig } from './helpers.js'

t.test('redis:// with credentials and a database', async (t) => {
  const o = redisOptionsFromConfig(testConfig({ redisUrl: 'redis://app:p%40ss@cache.internal:6380/3' }))
  t.match(o, { host: 'cache.internal', port: 6380, username: 'app', password: 'p@ss', db: 3 })
  t.equal(o.tls, undefined, 'no TLS for redis://')
  t.equal(o.sentinels, undefined)
  t.equal(o.enableOfflineQueue, false, 'calls fail fast while Redis is away')
  t.equal(o.autoResendUnfulfilledCommands, false, 'a lost compare-and-set reply is not replayed')
  t.equal(o.lazyConnect, true)
  t.ok((o.commandTimeout ?? 0) > 0 && (o.connectTimeout ?? 0) > 0, 'bounded waits')
})

t.test('defaults: port 6379, no credentials, no db', async (t) => {
  const o = redisOptionsFromConfig(testConfig({ redisUrl: 'redis://127.0.0.1' }))
  t.match(o, { host: '127.0.0.1', port: 6379 })
  t.equal(o.username, undefined)
  t.equal(o.password, undefined)
  t.equal(o.db, undefined)
})

t.test('rediss:// turns TLS on and checks the certificate against the host name', async (t) => {
  const o = redisOptionsFromConfig(testConfig({ redisUrl: 'rediss://:secret@redis.example.com:6380' }))
  t.match(o, { host: 'redis.example.com', port: 6380, password: 'secret' })
  t.same(o.tls, { servername: 'redis.example.com' })
  t.notOk('rejectUnauthorized' in (o.tls ?? {}), 'certificate verification stays on')
  const ip = redisOptionsFromConfig(testConfig({ redisUrl: 'rediss://10.1.2.3:6380' }))
  t.same(ip.tls, {}, 'no SNI server name for an IP address (RFC 6066)')
  const v6 = redisOptionsFromConfig(testConfig({ redisUrl: 'rediss://[::1]:6380' }))
  t.match(v6, { host: '::1', port: 6380, tls: {} })
})

t.test('Sentinel: master found through the sentinels, credentials and TLS from the URL', async (t) => {
  const redis = { sentinels: [{ host: 's1.internal', port: 26379 }, { host: 's2.internal', port: 26380 }], name: 'mymaster', keyPrefix: 'shop:' }
  const o = redisOptionsFromConfig(testConfig({ redisUrl: 'redis://:masterpass@ignored-host:1234/2', redis }))
  t.same(o.sentinels, [{ host: 's1.internal', port: 26379 }, { host: 's2.internal', port: 26380 }])
  t.equal(o.name, 'mymaster')
  t.equal(o.password, 'masterpass')
  t.equal(o.db, 2)
  t.equal(o.host, undefined, 'the URL host is not used with sentinels')
  t.equal(typeof o.sentinelRetryStrategy, 'function', 'keeps asking the sentinels')
  t.equal(typeof o.reconnectOnError, 'function')
  t.equal(o.reconnectOnError?.(new Error('READONLY You can\'t write against a read only replica.')), true, 'reconnects to the new master after a failover')

  const tls = redisOptionsFromConfig(testConfig({ redisUrl: 'rediss://:pw@x', redis }))
  t.same(tls.tls, {})
  t.equal(tls.enableTLSForSentinelMode, true)

  const noUrl = redisOptionsFromConfig(testConfig({ redis }))
  t.equal(noUrl.name, 'mymaster')
  t.equal(noUrl.password, undefined)
  t.ok(usesRedis(testConfig({ redis })), 'sentinels alone select the Redis store')
  t.equal(keyPrefixFromConfig(testConfig({ redis })), 'shop:')
})

t.test('Sentinel from flags or env: redisSentinels and redisSentinelName win over the file', async (t) => {
  const file = { sentinels: [{ host: 'file-s', port: 26379 }], name: 'file-master', keyPrefix: 'p:' }
  const o = redisOptionsFromConfig(testConfig({ redisSentinels: ['10.0.0.7:26379', '[::1]:26380'], redisSentinelName: 'mymaster', redis: file }))
  t.same(o.sentinels, [{ host: '10.0.0.7', port: 26379 }, { host: '::1', port: 26380 }])
  t.equal(o.name, 'mymaster')
  t.ok(usesRedis(testConfig({ redisSentinels: ['s:26379'], redisSentinelName: 'm' })), 'sentinels from a flag alone select the Redis store')
  t.throws(() => redisOptionsFromConfig(testConfig({ redisSentinels: ['s:26379'] })), { name: 'ConfigError', setting: 'redisSentinelName', message: /required with redisSentinels/ })
  t.throws(() => redisOptionsFromConfig(testConfig({ redisSentinelName: 'm' })), { name: 'ConfigError', setting: 'redisSentinels' })
  t.throws(() => redisOptionsFromConfig(testConfig({ redisSentinels: ['s:0'], redisSentinelName: 'm' })), { name: 'ConfigError', setting: 'redisSentinels', message: /not host:port/ })
})

t.test('key prefix defaults to drawbridge:', async (t) => {
  t.equal(keyPrefixFromConfig(testConfig({ redisUrl: 'redis://x' })), 'drawbridge:')
  t.equal(keyPrefixFromConfig(testConfig({ redisUrl: 'redis://x', redis: { keyPrefix: 'app1:' } })), 'app1:')
  t.notOk(usesRedis(testConfig({})))
})

t.test('bad settings are ConfigErrors naming the setting, never echoing the password', async (t) => {
  const cases: Array<[Parameters<typeof testConfig>[0], string, RegExp]> = [
    [{ redisUrl: 'redis://x', redis: { keyPrefix: 'p:', sentinels: [{ host: 's', port: 26379 }] } }, 'redis.name', /^redis.name: required with redis.sentinels$/],
    [{ redisUrl: 'redis://x', redis: { keyPrefix: 'p:', name: 'mymaster' } }, 'redis.sentinels', /required with redis.name/],
    [{ redisUrl: 'http://user:hunter2@x:6379' }, 'redisUrl', /scheme must be redis:\/\/ or rediss:\/\//],
    [{ redisUrl: 'not a url hunter2' }, 'redisUrl', /not a valid URL/],
    [{ redisUrl: 'redis://:hunter2@x/db1' }, 'redisUrl', /database must be a number/]
  ]
  for (const [partial, setting, message] of cases) {
    const err = t.throws(() => redisOptionsFromConfig(testConfig(partial))) as unknown
    t.ok(err instanceof ConfigError, setting)
    t.equal((err as ConfigError).setting, setting)
    t.match((err as Error).message, message)
    t.notMatch((err as Error).message, /hunter2/, 'no secret in the message')
  }
})

t.test('reconnect backoff grows, is capped, and never gives up', async (t) => {
  t.ok(reconnectDelay(1) < 250)
  for (const attempt of [20, 1000, 1e6]) {
    const d = reconnectDelay(attempt)
    t.ok(d >= 2000 && d < 2100, `attempt ${attempt}: ${d} ms`)
  }
})

t.test('createStore rejects a bad Redis setting before connecting', async (t) => {
  t.throws(() => createStore(testConfig({ redisUrl: 'http://x:6379' }), silentLogger), { name: 'ConfigError', setting: 'redisUrl' })
  t.throws(() => createStore(testConfig({ redis: { keyPrefix: 'p:', sentinels: [{ host: 's', port: 26379 }] } }), silentLogger), { name: 'ConfigError', setting: 'redis.name' })
})

t.test('rediss:// with a CA and a client certificate: the PEM material goes to TLS, verification stays on', async (t) => {
  const material = { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' }
  const o = redisOptionsFromConfig(testConfig({ redisUrl: 'rediss://redis.internal:6380' }), material)
  t.same(o.tls, { servername: 'redis.internal', ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM' })
  t.equal(o.keepAlive, 10_000, 'TCP keepalive notices a peer gone without a FIN')
  t.throws(() => redisOptionsFromConfig(testConfig({ redisUrl: 'redis://x' }), { ca: 'CA PEM' }), { name: 'ConfigError', setting: 'redisCaFile', message: /needs a rediss:\/\/ redisUrl/ })
  t.throws(() => redisOptionsFromConfig(testConfig({ redisUrl: 'rediss://x' }), { cert: 'CERT PEM' }), { setting: 'redisKeyFile', message: /required with redisCertFile/ })
  t.throws(() => redisOptionsFromConfig(testConfig({ redisUrl: 'rediss://x' }), { key: 'KEY PEM' }), { setting: 'redisCertFile', message: /required with redisKeyFile/ })
})

t.test('redisTlsFromConfig reads the PEM files and names the setting of one it cannot use', async (t) => {
  const dir = t.testdir({ 'ca.pem': '-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n', 'key.pem': '-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n', 'junk.txt': 'hello' })
  const material = redisTlsFromConfig({ redisCaFile: `${dir}/ca.pem`, redisKeyFile: `${dir}/key.pem` })
  t.match(material, { ca: /BEGIN CERTIFICATE/, key: /PRIVATE KEY/ })
  t.throws(() => redisTlsFromConfig({ redisCaFile: `${dir}/missing.pem` }), { setting: 'redisCaFile', message: /cannot read .*missing.pem: ENOENT/ })
  t.throws(() => redisTlsFromConfig({ redisCertFile: `${dir}/junk.txt` }), { setting: 'redisCertFile', message: /holds no PEM certificate/ })
  t.throws(() => redisTlsFromConfig({ redisKeyFile: `${dir}/ca.pem` }), { setting: 'redisKeyFile', message: /holds no PEM private key/ })
})

t.test('Redis Cluster: nodes from redisClusterNodes (winning) or redis.cluster, every key in one slot', async (t) => {
  const file = testConfig({ redisUrl: 'rediss://app:pw@ignored:1', redis: { keyPrefix: 'shop:', cluster: [{ host: '10.0.0.1', port: 7000 }] } })
  t.same(clusterNodesFromConfig(file), [{ host: '10.0.0.1', port: 7000 }])
  const flag = testConfig({ redisClusterNodes: ['10.0.0.2:7001', '[::1]:7002'], redis: { keyPrefix: 'shop:', cluster: [{ host: '10.0.0.1', port: 7000 }] } })
  t.same(clusterNodesFromConfig(flag), [{ host: '10.0.0.2', port: 7001 }, { host: '::1', port: 7002 }])
  t.ok(usesRedis(testConfig({ redisClusterNodes: ['10.0.0.2:7001'] })), 'cluster nodes alone select the Redis store')
  const o = redisOptionsFromConfig(file)
  t.match(o, { username: 'app', password: 'pw', tls: {} })
  t.equal(o.host, undefined, 'the URL host is not used with a cluster')
  t.equal(keyPrefixFromConfig(file), '{shop:}', 'the prefix becomes a hash tag')
  t.equal(keyPrefixFromConfig(testConfig({ redisClusterNodes: ['h:1'], redis: { keyPrefix: 'app:{shop}:' } })), 'app:{shop}:', 'a prefix with its own tag is kept')
  t.equal(inOneSlot('drawbridge:'), '{drawbridge:}')
  t.throws(() => inOneSlot('odd}prefix'), { name: 'ConfigError', setting: 'redis.keyPrefix' })
  t.throws(() => inOneSlot('{}'), { name: 'ConfigError', setting: 'redis.keyPrefix' }, 'an empty tag hashes the whole key')
  t.throws(() => redisOptionsFromConfig(testConfig({ redisUrl: 'redis://x/2', redisClusterNodes: ['h:1'] })), { setting: 'redisUrl', message: /only database 0/ })
  t.throws(() => redisOptionsFromConfig(testConfig({ redisClusterNodes: ['h:1'], redis: { keyPrefix: 'p:', name: 'm', sentinels: [{ host: 's', port: 1 }] } })), { name: 'ConfigError', setting: 'redis.cluster' })
  t.throws(() => clusterNodesFromConfig(testConfig({ redisClusterNodes: ['h:0'] })), { name: 'ConfigError', setting: 'redisClusterNodes' })
})

t.test('Sentinel: +switch-master is listened to, sentinel answers are bounded, reconnects stay under ~0.6 s', async (t) => {
  const o = redisOptionsFromConfig(testConfig({ redis: { keyPrefix: 'p:', name: 'mymaster', sentinels: [{ host: 's1', port: 26379 }] } }))
  t.equal(o.failoverDetector, true)
  t.ok((o.sentinelCommandTimeout ?? 0) > 0)
  for (const attempt of [1, 5, 50]) t.ok((o.retryStrategy?.(attempt) as number) < 600, `attempt ${attempt}`)
})

t.test('settingProblem: which setting a failed first connection points at, if any', async (t) => {
  const fail = (code: string | undefined, message = 'x', connected = false): FirstFailure => ({ error: Object.assign(new Error(message), code === undefined ? {} : { code }), connected })
  const tls = { tls: { ca: 'CA' } }
  t.match(settingProblem(fail('SELF_SIGNED_CERT_IN_CHAIN'), tls), { setting: 'redisCaFile', message: /not signed by the CA certificates of this file/ })
  t.match(settingProblem(fail('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), { tls: {} }), { setting: 'redisCaFile', message: /system CAs/ })
  t.match(settingProblem(fail('ERR_TLS_CERT_ALTNAME_INVALID', "Host: a. is not in the cert's altnames"), tls), { setting: 'redisUrl' })
  t.match(settingProblem(fail('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'), tls), { setting: 'redisCertFile', message: /does not accept this client certificate/ })
  t.match(settingProblem(fail('ECONNRESET', 'write ECONNRESET', true), tls), { setting: 'redisCertFile', message: /requires a client certificate/ })
  t.equal(settingProblem(fail('ECONNRESET', 'write ECONNRESET', true), { tls: { ca: 'CA', cert: 'C', key: 'K' } }), null, 'with a certificate given, a reset is just a reset')
  t.equal(settingProblem(fail('ECONNRESET', 'read ECONNRESET', true), {}), null, 'without TLS, a reset is just a reset')
  t.match(settingProblem(fail(undefined, 'WRONGPASS invalid username-password pair or user is disabled.'), {}), { setting: 'redisUrl', message: /refused the credentials: WRONGPASS/ })
  for (const code of ['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH']) t.equal(settingProblem(fail(code), tls), null, `${code}: Redis away, not a setting`)
})
