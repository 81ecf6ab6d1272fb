import t from 'tap'
import { ADMIN_TOKEN, BOT_TOKEN, READ_TOKEN, VIEWER_TOKEN, auth, buildTestAdmin } from './helpers.js'

const tokens = [
  { name: 'deploy-bot', token: BOT_TOKEN, role: 'admin' as const },
  { name: 'viewer', token: VIEWER_TOKEN, role: 'read' as const }
]

t.test('bearer tokens: 401 without or with a wrong token, 403 for a read role writing', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--read-token', READ_TOKEN], { tokens })

  const none = await app.inject({ method: 'GET', url: '/v1/maintenance' })
  t.equal(none.statusCode, 401)
  t.match(none.json(), { statusCode: 401, error: 'Unauthorized', code: 'DRAWBRIDGE_ERR_UNAUTHORIZED' })
  t.match(none.headers['www-authenticate'], /^Bearer/)

  const wrong = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN + 'x') })
  t.equal(wrong.statusCode, 401, 'a token that only starts right is wrong')
  const basic = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: { authorization: `Basic ${ADMIN_TOKEN}` } })
  t.equal(basic.statusCode, 401, 'only the Bearer scheme')

  for (const token of [ADMIN_TOKEN, READ_TOKEN, BOT_TOKEN, VIEWER_TOKEN]) {
    const res = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: auth(token) })
    t.equal(res.statusCode, 200, 'every role may read')
  }
  for (const token of [READ_TOKEN, VIEWER_TOKEN]) {
    const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: auth(token), payload: { enabled: true } })
    t.equal(res.statusCode, 403)
    t.match(res.json(), { code: 'DRAWBRIDGE_ERR_FORBIDDEN', message: /PATCH \/v1\/maintenance/ })
  }
  const state = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN) })
  t.equal(state.json().enabled, false, 'the forbidden writes changed nothing')

  const unknownRoute = await app.inject({ method: 'GET', url: '/v1/nope' })
  t.equal(unknownRoute.statusCode, 401, 'routes are not enumerable without a token')
  const notFound = await app.inject({ method: 'GET', url: '/v1/nope', headers: auth(READ_TOKEN) })
  t.match(notFound.json(), { statusCode: 404, code: 'DRAWBRIDGE_ERR_NOT_FOUND' })
})

t.test('healthz, readyz and metrics are public', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  for (const url of ['/healthz', '/readyz', '/metrics']) {
    const res = await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer wrong' } })
    t.equal(res.statusCode, 200, url)
  }
})

t.test('the token name is who the state and the audit log record', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN], { tokens })

  const bot = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: auth(BOT_TOKEN), payload: { enabled: true, message: 'deploying' } })
  t.equal(bot.statusCode, 200)
  t.equal(bot.json().updatedBy, 'deploy-bot')
  const admin = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN), payload: { enabled: false } })
  t.equal(admin.json().updatedBy, 'admin')

  const audit = await app.inject({ method: 'GET', url: '/v1/audit', headers: auth(VIEWER_TOKEN) })
  t.equal(audit.statusCode, 200, 'a read token may read the audit log')
  const entries = audit.json().entries as Array<{ actor: string, action: string, before: { enabled: boolean }, after: { enabled: boolean } }>
  t.same(entries.map((e) => e.actor), ['admin', 'deploy-bot'], 'newest first')
  t.match(entries[1], { action: 'maintenance.update', before: { enabled: false }, after: { enabled: true, message: 'deploying' } })
})

t.test('no token configured: open on loopback, callers recorded as anonymous', async (t) => {
  const { app } = await buildTestAdmin(t)
  const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { enabled: true } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().updatedBy, 'anonymous')
})
