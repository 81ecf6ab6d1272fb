import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { ConfigError } from '../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'drawbridge-config-errors-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
const file = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

const UP = ['--upstream', 'http://127.0.0.1:3000']
const TOKEN = 'admin-token-0123456789'

/** Each problem is a ConfigError whose setting is spelled the way it was given. */
const cases: Array<[string, string[], Record<string, string>, string, RegExp]> = [
  ['missing upstream', [], {}, '--upstream', /is required/],
  ['upstream not a URL', ['--upstream', 'localhost:3000'], {}, '--upstream', /must use http or https/],
  ['upstream bad scheme from env', [], { DRAWBRIDGE_UPSTREAM: 'ftp://x' }, 'DRAWBRIDGE_UPSTREAM', /must use http or https/],
  ['upstream garbage', ['--upstream', 'http//x'], {}, '--upstream', /not a URL/],
  ['listen without port', [...UP, '--listen', '127.0.0.1'], {}, '--listen', /host:port/],
  ['listen port too big', [...UP, '--listen', '127.0.0.1:65536'], {}, '--listen', /port from 0 to 65535/],
  ['admin listen from env', [...UP], { DRAWBRIDGE_ADMIN_LISTEN: ':9090' }, 'DRAWBRIDGE_ADMIN_LISTEN', /host:port/],
  ['bad CIDR', [...UP, '--trusted-proxies', '10.0.0.0/8,10.0.0.0/33'], {}, '--trusted-proxies', /10\.0\.0\.0\/33/],
  ['non-loopback admin, no token', [...UP, '--admin-listen', '0.0.0.0:9090'], {}, '--admin-listen', /not a loopback address.*token/],
  ['non-loopback admin, read token only', [...UP, '--admin-listen', '10.1.2.3:9090', '--read-token', TOKEN], {}, '--read-token', /needs an admin token/],
  ['short token', [...UP, '--admin-token', 'short'], {}, '--admin-token', /at least 16 characters/],
  ['same token twice', [...UP, '--admin-token', TOKEN, '--read-token', TOKEN], {}, '--read-token', /same token as --admin-token/],
  ['unknown flag', [...UP, '--upstrem', 'x'], {}, '--upstrem', /unknown flag \(did you mean --upstream\?\)/],
  ['upstream and upstreams', [...UP, '--upstreams', 'blue=http://127.0.0.1:1'], {}, '--upstreams', /cannot be given with --upstream/],
  ['upstreams entry without a name', ['--upstreams', 'http://127.0.0.1:1'], {}, '--upstreams', /is not name=URL/],
  ['upstreams name twice', ['--upstreams', 'a=http://127.0.0.1:1,a=http://127.0.0.1:2'], {}, '--upstreams', /names upstream "a" twice/],
  ['upstreams bad name', ['--upstreams', 'b lue=http://127.0.0.1:1'], {}, '--upstreams', /is not an upstream name/],
  ['upstreams bad URL', [], { DRAWBRIDGE_UPSTREAMS: 'blue=ftp://x' }, 'DRAWBRIDGE_UPSTREAMS (blue)', /must use http or https/],
  ['flag without value', ['--upstream'], {}, '--upstream', /needs a value/],
  ['positional', [...UP, 'extra'], {}, 'extra', /unexpected argument/],
  ['file-only flag', [...UP, '--tokens', 'x'], {}, '--tokens', /config file/],
  ['integer from env', [...UP], { DRAWBRIDGE_DRAIN_TIMEOUT_MS: '10s' }, 'DRAWBRIDGE_DRAIN_TIMEOUT_MS', /whole number/],
  ['enum', [...UP, '--fail-policy', 'sometimes'], {}, '--fail-policy', /one of open, closed/],
  ['redis scheme', [...UP, '--redis-url', 'http://127.0.0.1:6379'], {}, '--redis-url', /redis or rediss/],
  ['state URL scheme', [...UP, '--state-url', 'redis://127.0.0.1:6379'], {}, '--state-url', /must use postgres or postgresql .*for Redis: --redis-url/],
  ['state URL and Redis', [...UP, '--state-url', 'postgres://db/app'], { DRAWBRIDGE_REDIS_URL: 'redis://127.0.0.1:6379' }, '--state-url', /cannot be given with DRAWBRIDGE_REDIS_URL/],
  ['state URL and state file', [...UP, '--state-url', 'postgres://db/app', '--state-file', '/tmp/state.json'], {}, '--state-file', /embedded store's file .*--state-cache/],
  ['state schema', [...UP, '--state-schema', 'Drawbridge'], {}, '--state-schema', /"Drawbridge" is not a schema name/],
  ['same port twice', [...UP, '--listen', '127.0.0.1:7000', '--admin-listen', '127.0.0.1:7000'], {}, '--admin-listen', /overlaps/],
  ['missing page', [...UP, '--page', '/nonexistent/page.html'], {}, '--page', /cannot read/],
  ['missing config file', ['--config', '/nonexistent/drawbridge.yaml'], {}, '--config', /no such file/],
  ['config file from env', [], { DRAWBRIDGE_CONFIG: '/nonexistent.json' }, 'DRAWBRIDGE_CONFIG', /no such file/]
]

for (const [title, argv, env, setting, problem] of cases) {
  t.test(title, async (t) => {
    const err = t.throws(() => loadConfig(argv, env)) as unknown
    t.type(err, ConfigError)
    t.equal((err as ConfigError).setting, setting)
    t.match((err as ConfigError).message, problem)
  })
}

t.test('errors in a config file name the key and the file', async (t) => {
  const typo = file('typo.yaml', 'upstrem: http://x\n')
  t.throws(() => loadConfig(['--config', typo], {}), { setting: `upstrem (${typo})`, message: /unknown setting \(did you mean upstream\?\)/ })

  const nested = file('nested.yaml', 'upstream: http://x\ntokens:\n  - { name: bot, token: short, role: admin }\n')
  t.throws(() => loadConfig(['--config', nested], {}), { setting: `tokens[0].token (${nested})`, message: /at least 16 characters/ })

  const badRole = file('role.json', JSON.stringify({ upstream: 'http://x', tokens: [{ name: 'bot', token: TOKEN, role: 'root' }] }))
  t.throws(() => loadConfig(['--config', badRole], {}), { setting: `tokens[0].role (${badRole})`, message: /one of admin, read/ })

  const wrongType = file('type.yaml', 'upstream: http://x\nlisten: 8080\n')
  t.throws(() => loadConfig(['--config', wrongType], {}), { setting: `listen (${wrongType})`, message: /must be a string/ })

  const broken = file('broken.yaml', 'upstream: [\n')
  t.throws(() => loadConfig(['--config', broken], {}), { setting: '--config', message: /not valid YAML/ })
  const brokenJson = file('broken.json', '{"upstream": ')
  t.throws(() => loadConfig(['--config', brokenJson], {}), { setting: '--config', message: /not valid JSON/ })
  const list = file('list.yaml', '- a\n- b\n')
  t.throws(() => loadConfig(['--config', list], {}), { message: /mapping/ })

  const flagFixes = file('fix.yaml', 'upstream: ftp://x\n')
  t.equal(loadConfig(['--config', flagFixes, '--upstream', 'http://ok'], {}).upstream, 'http://ok', 'a flag overrides a bad file value')
})

t.test('a non-loopback admin address is fine with a token', async (t) => {
  t.equal(loadConfig([...UP, '--admin-listen', '0.0.0.0:9090', '--admin-token', TOKEN], {}).adminListen, '0.0.0.0:9090')
  t.equal(loadConfig([...UP, '--admin-listen', 'localhost:9090'], {}).adminListen, 'localhost:9090')
  t.equal(loadConfig([...UP, '--admin-listen', '[::1]:9090'], {}).adminListen, '[::1]:9090')
})
