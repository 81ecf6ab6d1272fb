import t from 'tap'
import { adminCall, rawRequest, recordingUpstream } from '../helpers/raw-http.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'

/*
 * Issue 17, case 6 (smaller leaks), against the real binary on raw sockets:
 * the secret never reaches a log or the upstream, cookies die with their
 * secret's generation, and drawbridge's own headers and cookie never reach
 * the upstream in any spelling.
 */

const TOKEN = 'secret-leaks-admin-token-0123456'
const SECRET_A = 'aaaaaaaaaaaaaaaaSecretA0123456789'
const SECRET_B = 'bbbbbbbbbbbbbbbbSecretB0123456789'

function cookieOf (text: string): string {
  const match = /set-cookie: drawbridge_bypass=([^;\r\n]+)/i.exec(text)
  if (match === null) throw new Error(`no bypass cookie in:\n${text}`)
  return match[1] as string
}

t.test('paths starting with the secret are never access-logged nor proxied, rotated secrets neither', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--access-log-sample', '1'])
  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { secret: SECRET_A })

  const bypass = await rawRequest(gw.gateway, 'GET', `/${SECRET_A}`)
  t.equal(bypass.status, 302, 'GET /<secret> with maintenance off: answered by the gateway')
  t.match(bypass.text, /set-cookie: drawbridge_bypass=/i)
  for (const target of [`/${SECRET_A}/`, `/${SECRET_A}x`, `/${SECRET_A}/x`, `/${SECRET_A}?q=1`]) {
    const expected = target.includes('?') ? 302 : 404
    t.equal((await rawRequest(gw.gateway, 'GET', target)).status, expected, target.replace(SECRET_A, '<secret>'))
  }
  t.equal((await rawRequest(gw.gateway, 'POST', `/${SECRET_A}`, { 'content-length': '0' })).status, 404, 'POST /<secret>: 404')
  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { enabled: true })
  t.equal((await rawRequest(gw.gateway, 'GET', `/${SECRET_A}/x`)).status, 404, 'the same with maintenance on')
  t.same(upstream.seen, [], 'the upstream never saw the secret')

  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { enabled: false, secret: SECRET_B })
  for (const target of [`/${SECRET_A}`, `/${SECRET_A}/x`, `/${SECRET_A}x`]) {
    t.equal((await rawRequest(gw.gateway, 'GET', target)).status, 200, 'the retired secret is an ordinary path again')
  }
  t.equal((await rawRequest(gw.gateway, 'GET', '/visible-path')).status, 200)
  await new Promise((resolve) => setTimeout(resolve, 300))
  const logs = gw.logs()
  t.match(logs, /"path":"\/visible-path"/, 'access logging is on')
  t.notMatch(logs, /SecretA/, 'the old secret is in no log line')
  t.notMatch(logs, /SecretB/, 'nor the new one')
})

t.test('setting a secret back to an earlier value does not revive its cookies', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { enabled: true, secret: SECRET_A })
  const cookie = cookieOf((await rawRequest(gw.gateway, 'GET', `/${SECRET_A}`)).text)
  t.equal((await rawRequest(gw.gateway, 'GET', '/app', { cookie: `drawbridge_bypass=${cookie}` })).status, 200, 'the cookie works')
  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { secret: SECRET_B })
  t.equal((await rawRequest(gw.gateway, 'GET', '/app', { cookie: `drawbridge_bypass=${cookie}` })).status, 503, 'void after rotation')
  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { secret: SECRET_A })
  t.equal((await rawRequest(gw.gateway, 'GET', '/app', { cookie: `drawbridge_bypass=${cookie}` })).status, 503, 'still void with the earlier value back')
  const fresh = cookieOf((await rawRequest(gw.gateway, 'GET', `/${SECRET_A}`)).text)
  t.equal((await rawRequest(gw.gateway, 'GET', '/app', { cookie: `drawbridge_bypass=${fresh}` })).status, 200, 'a cookie of the new generation works')
  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { secret: SECRET_A, message: 'same secret sent again' })
  t.equal((await rawRequest(gw.gateway, 'GET', '/app', { cookie: `drawbridge_bypass=${fresh}` })).status, 200, 'an unchanged secret keeps its generation')
})

t.test('internal headers in any spelling never reach the upstream', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  t.equal((await rawRequest(gw.gateway, 'GET', '/app', {
    X_Drawbridge_Flags: 'admin-mode',
    'x-drawbridge_bypass': SECRET_A,
    'X-DRAWBRIDGE-FLAGS': 'admin-mode',
    'X-Drawbridge-Anything': 'x',
    X_Forwarded_For: '10.0.0.1',
    X_Forwarded_Proto: 'https'
  })).status, 200)
  const seen = upstream.seen[0]
  t.ok(seen, 'proxied')
  const names = (seen?.rawHeaders ?? []).filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase().replace(/_/g, '-'))
  t.notOk(names.some((n) => n.startsWith('x-drawbridge-')), `no X-Drawbridge-* in any spelling (${names.join(' ')})`)
  t.equal(names.filter((n) => n === 'x-forwarded-for').length, 1, 'only the X-Forwarded-For drawbridge wrote')
  t.equal(names.filter((n) => n === 'x-forwarded-proto').length, 1, 'only the X-Forwarded-Proto drawbridge wrote')
  t.equal(seen?.headers['x-forwarded-proto'], 'http')
})

t.test('the bypass cookie never reaches the upstream; every bypass cookie is tried', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { enabled: true, secret: SECRET_A })
  const cookie = cookieOf((await rawRequest(gw.gateway, 'GET', `/${SECRET_A}`)).text)
  const forged = 'v1.9999999999.' + 'A'.repeat(43)

  const res = await rawRequest(gw.gateway, 'GET', '/app', { cookie: `session=s1; drawbridge_bypass=${forged}; theme=dark; drawbridge_bypass=${cookie}` })
  t.equal(res.status, 200, 'a forged first cookie does not hide the valid one')
  t.equal(upstream.seen[0]?.headers.cookie, 'session=s1; theme=dark', 'the bypass cookies are removed, the others kept')

  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { enabled: false })
  t.equal((await rawRequest(gw.gateway, 'GET', '/app', { cookie: `drawbridge_bypass=${cookie}` })).status, 200)
  t.equal(upstream.seen[1]?.headers.cookie, undefined, 'a Cookie header holding only the bypass cookie is dropped, maintenance off too')
})
