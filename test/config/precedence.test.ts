import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig, settingName } from '../../src/config/load.js'

const dir = mkdtempSync(join(tmpdir(), 'drawbridge-config-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

const yamlFile = join(dir, 'drawbridge.yaml')
writeFileSync(yamlFile, `
upstream: http://file.example:3000
listen: 127.0.0.1:7001
adminListen: 127.0.0.1:7002
drainTimeoutMs: 1234
trustedProxies:
  - 10.0.0.0/8
tokens:
  - { name: deploy-bot, token: bot-token-0123456789, role: admin }
redis:
  keyPrefix: "app1:"
`)
const jsonFile = join(dir, 'drawbridge.json')
writeFileSync(jsonFile, JSON.stringify({ upstream: 'https://json.example', listen: '127.0.0.1:7101', failPolicy: 'closed' }))

t.test('defaults', async (t) => {
  const c = loadConfig(['--upstream', 'http://127.0.0.1:3000'], {})
  t.match(c, { upstream: 'http://127.0.0.1:3000', listen: '0.0.0.0:8080', adminListen: '127.0.0.1:9090', migrationsDir: './migrations', trustedProxies: [], tokens: [], failPolicy: 'open', drainTimeoutMs: 10000, workers: 1 })
  t.equal(c.adminToken, undefined)
  t.equal(settingName(c, 'listen'), '--listen', 'a default is named by its flag')
})

t.test('file beats default (YAML)', async (t) => {
  const c = loadConfig(['--config', yamlFile], {})
  t.match(c, { upstream: 'http://file.example:3000', listen: '127.0.0.1:7001', drainTimeoutMs: 1234, trustedProxies: ['10.0.0.0/8'], adminListen: '127.0.0.1:7002' })
  t.same(c.tokens, [{ name: 'deploy-bot', token: 'bot-token-0123456789', role: 'admin' }])
  t.same(c.redis, { keyPrefix: 'app1:' })
  t.equal(c.upstreamTimeoutMs, 30000, 'what the file leaves out keeps its default')
  t.equal(settingName(c, 'listen'), `listen (${yamlFile})`)
})

t.test('file beats default (JSON), also through DRAWBRIDGE_CONFIG', async (t) => {
  const c = loadConfig([], { DRAWBRIDGE_CONFIG: jsonFile })
  t.match(c, { upstream: 'https://json.example', listen: '127.0.0.1:7101', failPolicy: 'closed' })
  const flagWins = loadConfig(['--config', yamlFile], { DRAWBRIDGE_CONFIG: jsonFile })
  t.equal(flagWins.listen, '127.0.0.1:7001', '--config beats DRAWBRIDGE_CONFIG')
})

t.test('env beats file, flag beats env', async (t) => {
  const env = { DRAWBRIDGE_CONFIG: yamlFile, DRAWBRIDGE_LISTEN: '127.0.0.1:7003', DRAWBRIDGE_DRAIN_TIMEOUT_MS: '50', DRAWBRIDGE_TRUSTED_PROXIES: '192.168.0.0/16, 2001:db8::/32', DRAWBRIDGE_UPSTREAM: 'http://env.example' }
  const c = loadConfig([], env)
  t.match(c, { listen: '127.0.0.1:7003', drainTimeoutMs: 50, trustedProxies: ['192.168.0.0/16', '2001:db8::/32'], upstream: 'http://env.example', adminListen: '127.0.0.1:7002' })
  t.equal(settingName(c, 'listen'), 'DRAWBRIDGE_LISTEN')

  const f = loadConfig(['--listen', '127.0.0.1:7004', '--drain-timeout-ms=75', '--trusted-proxies', '172.16.0.0/12', '--trusted-proxies', '::1'], env)
  t.match(f, { listen: '127.0.0.1:7004', drainTimeoutMs: 75, trustedProxies: ['172.16.0.0/12', '::1'], upstream: 'http://env.example' })
  t.equal(settingName(f, 'listen'), '--listen')
  t.equal(settingName(f, 'upstream'), 'DRAWBRIDGE_UPSTREAM')
})

t.test('an empty env variable counts as unset; other DRAWBRIDGE_ variables are ignored', async (t) => {
  const c = loadConfig(['--upstream', 'http://x'], { DRAWBRIDGE_LISTEN: '', DRAWBRIDGE_ADMIN_URL: 'http://127.0.0.1:9', DRAWBRIDGE_SOMETHING_ELSE: '1' })
  t.equal(c.listen, '0.0.0.0:8080')
})

t.test('the result is frozen, all the way down', async (t) => {
  const c = loadConfig(['--config', yamlFile], {})
  t.ok(Object.isFrozen(c))
  t.ok(Object.isFrozen(c.tokens) && Object.isFrozen(c.tokens[0]) && Object.isFrozen(c.trustedProxies))
  t.throws(() => { (c as { listen: string }).listen = 'x' })
})

t.test('names and cases derived from the schema', async (t) => {
  const c = loadConfig(['--upstream', 'http://x', '--access-log-sample', '0.25', '--flags-identity', 'header:x-user-id', '--log-level', 'warn'], { DRAWBRIDGE_BYPASS_COOKIE_TTL_SECONDS: '600' })
  t.match(c, { accessLogSample: 0.25, flagsIdentity: 'header:x-user-id', logLevel: 'warn', bypassCookieTtlSeconds: 600 })
  t.equal(loadConfig([], {}, { requireUpstream: false }).upstream, undefined, 'client commands need no upstream')
})
