import t from 'tap'
import { ConfigError } from '../../src/errors.js'
import { keyPrefixFromConfig, reconnectDelay, redisOptionsFromConfig, usesRedis } from '../../src/state/redis-options.js'
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
