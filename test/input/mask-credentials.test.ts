import t from 'tap'
import { maskCredentials } from '../../src/input/mask-credentials.js'
import { runDrawbridge } from '../helpers/spawn-gateway.js'

t.test('maskCredentials hides passwords in URLs, parsed or not, and keeps the rest', async (t) => {
  const cases: Array<[string, string]> = [
    ['"postgres://app:s3cr3t@db:5432/app" is not a URL', '"postgres://app:****@db:5432/app" is not a URL'],
    ['redis://:hunter2@127.0.0.1:6379', 'redis://:****@127.0.0.1:6379'],
    ['postgress://u:p@ss@w0rd@db/x must use', 'postgress://u:****@db/x must use'],
    ['"postgres//app:pw@db"', '"postgres//app:****@db"'],
    ['rediss://default:pa:ss@h:1 and http://a:b@c', 'rediss://default:****@h:1 and http://a:****@c'],
    ['postgres://user@host/db', 'postgres://****@host/db'] /* a lone user name may be a token */,
    ['http://host/path@x', 'http://host/path@x'],
    ['no url here', 'no url here']
  ]
  for (const [input, expected] of cases) t.equal(maskCredentials(input), expected, input)
})

t.test('a mistyped database or Redis URL exits 2 without printing its password', async (t) => {
  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ DRAWBRIDGE_DATABASE_URL: 'postgress://app:hunter2-db@db:5432/app' }, /^drawbridge: DRAWBRIDGE_DATABASE_URL: "postgress:\/\/app:\*\*\*\*@db:5432\/app" must use postgres or postgresql/],
    [{ DRAWBRIDGE_DATABASE_URL: 'postgres//app:hunter2-db@db/app' }, /DRAWBRIDGE_DATABASE_URL: "postgres\/\/app:\*\*\*\*@db\/app" is not a URL/],
    [{ DRAWBRIDGE_REDIS_URL: 'redis//:hunter2-redis@127.0.0.1:6379' }, /DRAWBRIDGE_REDIS_URL: "redis\/\/:\*\*\*\*@127\.0\.0\.1:6379" is not a URL/],
    [{ DRAWBRIDGE_REDIS_URL: 'http://user:hunter2-redis@127.0.0.1:6379' }, /DRAWBRIDGE_REDIS_URL: "http:\/\/user:\*\*\*\*@127\.0\.0\.1:6379" must use redis or rediss/]
  ]
  for (const [env, message] of bad) {
    const run = await runDrawbridge(['serve', '--upstream', 'http://127.0.0.1:9', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], env)
    t.equal(run.code, 2, JSON.stringify(env))
    t.match(run.stderr, message)
    t.notMatch(run.stderr + run.stdout, /hunter2/, 'the password is not printed')
  }
})

t.test('admin error bodies mask connection strings a driver error may quote', async (t) => {
  const { errorBody } = await import('../../src/admin/error-handler.js')
  const body = errorBody(503, 'DRAWBRIDGE_ERR_DATABASE', 'Database: cannot connect to postgres://app:hunter2@db:5432/app')
  t.equal(body.message, 'Database: cannot connect to postgres://app:****@db:5432/app')
})
