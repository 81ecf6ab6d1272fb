import t from 'tap'
import { maskCredentials } from '../../src/input/mask-credentials.js'
import { runDrawbridge } from '../helpers/spawn-gateway.js'

// Issue 15 class 5: a mistyped URL setting exited 2 printing the whole URL, password included.
const PASSWORD = 'hunter2-s3cret'

t.test('a mistyped database or Redis URL exits 2 naming the setting, without the password', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['DRAWBRIDGE_DATABASE_URL', `postgres//admin:${PASSWORD}@db:5432/app`, /DRAWBRIDGE_DATABASE_URL: "postgres\/\/admin:\*\*\*\*@db:5432\/app" is not a URL/],
    ['DRAWBRIDGE_DATABASE_URL', `mysql://admin:${PASSWORD}@db/app`, /DRAWBRIDGE_DATABASE_URL: "mysql:\/\/admin:\*\*\*\*@db\/app" must use postgres/],
    ['DRAWBRIDGE_DATABASE_URL', `db:5432/app?user=admin&password=${PASSWORD}`, /DRAWBRIDGE_DATABASE_URL: .*password=\*\*\*\*/],
    ['DRAWBRIDGE_REDIS_URL', `redis//default:${PASSWORD}@cache:6379`, /DRAWBRIDGE_REDIS_URL: "redis\/\/default:\*\*\*\*@cache:6379" is not a URL/],
    ['DRAWBRIDGE_REDIS_URL', `https://default:${PASSWORD}@cache:6379`, /DRAWBRIDGE_REDIS_URL: .* must use redis or rediss/],
    ['DRAWBRIDGE_REDIS_URL', `redis://:${PASSWORD}@cache:99999`, /DRAWBRIDGE_REDIS_URL: "redis:\/\/:\*\*\*\*@cache:99999"/],
    ['DRAWBRIDGE_REDIS_URL', `${PASSWORD}@cache`, /DRAWBRIDGE_REDIS_URL: "\*\*\*\*@cache"/],
    ['DRAWBRIDGE_STATE_URL', `postgres//state:${PASSWORD}@db:5432/app`, /DRAWBRIDGE_STATE_URL: "postgres\/\/state:\*\*\*\*@db:5432\/app" is not a URL/],
    ['DRAWBRIDGE_STATE_URL', `rediss://state:${PASSWORD}@cache:6379`, /DRAWBRIDGE_STATE_URL: "rediss:\/\/state:\*\*\*\*@cache:6379" must use postgres/]
  ]
  const results = await Promise.all(cases.map(async ([env, value]) => await runDrawbridge(['serve', '--upstream', 'http://127.0.0.1:9', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0'], { [env]: value })))
  cases.forEach(([env, value, message], i) => {
    const res = results[i] as Awaited<ReturnType<typeof runDrawbridge>>
    t.equal(res.code, 2, `${env}=${value} exits 2`)
    t.match(res.stderr, message, 'names the setting and what is wrong')
    t.notMatch(res.stdout + res.stderr, PASSWORD, 'the password is not printed')
  })
})

t.test('maskCredentials', async (t) => {
  t.equal(maskCredentials('postgres://u:p@ss@db/app'), 'postgres://u:****@db/app', 'a password containing @')
  t.equal(maskCredentials('redis://token@cache:6379'), 'redis://****@cache:6379', 'a token as user name')
  t.equal(maskCredentials('redis://cache:6379/0'), 'redis://cache:6379/0', 'nothing to mask')
})
