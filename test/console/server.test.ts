import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { ConsoleSessions, SESSION_COOKIE } from '../../src/console/session.js'
import { ADMIN_TOKEN, BOT_TOKEN, READ_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'
import { ensureConsoleBuilt } from './helpers.js'

/*
 * The console's session, its cross-site checks and its headers, through
 * app.inject on the real admin app: sign-in sets an HttpOnly, SameSite=Strict,
 * expiring signed cookie; that cookie then stands in for the bearer token on
 * the admin API (with the token's role and name), and a change made with it
 * needs the console's Origin and CSRF header.
 */
await ensureConsoleBuilt()

const HOST = '127.0.0.1:9090'
const ORIGIN = `http://${HOST}`
const tokens = [{ name: 'deploy-bot', token: BOT_TOKEN, role: 'admin' as const }]

interface SignedIn { cookie: string, csrf: string, setCookie: string }

async function signIn (app: FastifyInstance, token: string): Promise<SignedIn> {
  const res = await app.inject({ method: 'POST', url: '/ui/session', headers: { host: HOST, origin: ORIGIN, 'sec-fetch-site': 'same-origin' }, payload: { token } })
  if (res.statusCode !== 200) throw new Error(`sign-in: ${res.statusCode} ${res.body}`)
  const setCookie = String(res.headers['set-cookie'])
  const cookie = setCookie.split(';')[0] as string
  return { cookie, csrf: res.json().csrf, setCookie }
}

/** Headers of a change made by the console itself in a browser. */
const fromConsole = (s: SignedIn): Record<string, string> => ({ host: HOST, origin: ORIGIN, 'sec-fetch-site': 'same-origin', cookie: s.cookie, 'x-drawbridge-csrf': s.csrf })

t.test('sign-in sets an HttpOnly, SameSite=Strict, expiring cookie; the session acts as its token', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--read-token', READ_TOKEN], { tokens })
  const s = await signIn(app, BOT_TOKEN)
  t.match(s.setCookie, new RegExp(`^${SESSION_COOKIE}=`))
  t.match(s.setCookie, /HttpOnly/i)
  t.match(s.setCookie, /SameSite=Strict/i)
  t.match(s.setCookie, /Path=\//)
  t.match(s.setCookie, /Max-Age=28800/, 'eight hours')
  t.notMatch(s.setCookie, new RegExp(BOT_TOKEN), 'the cookie never carries the token')

  const who = await app.inject({ method: 'GET', url: '/ui/session', headers: { host: HOST, cookie: s.cookie } })
  t.equal(who.statusCode, 200)
  t.match(who.json(), { actor: 'deploy-bot', role: 'admin', open: false, csrf: s.csrf })
  t.ok(Date.parse(who.json().expiresAt) > Date.now() + 7 * 3600_000)

  const read = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: { host: HOST, cookie: s.cookie } })
  t.equal(read.statusCode, 200, 'the session reads the admin API')
  const write = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: fromConsole(s), payload: { enabled: true, message: 'from the console' } })
  t.equal(write.statusCode, 200, write.body)
  t.equal(write.json().updatedBy, 'deploy-bot', 'the change is recorded under the token’s name')
  const audit = await app.inject({ method: 'GET', url: '/v1/audit', headers: auth(READ_TOKEN) })
  t.equal(audit.json().entries[0].actor, 'deploy-bot', 'and so is the audit entry')
})

t.test('a wrong token gets 401 and no cookie; a read session reads but may not write', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--read-token', READ_TOKEN])
  const wrong = await app.inject({ method: 'POST', url: '/ui/session', headers: { host: HOST, origin: ORIGIN }, payload: { token: ADMIN_TOKEN + 'x' } })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.headers['set-cookie'], undefined)
  const extra = await app.inject({ method: 'POST', url: '/ui/session', headers: { host: HOST, origin: ORIGIN }, payload: { token: ADMIN_TOKEN, role: 'admin' } })
  t.equal(extra.statusCode, 400, 'unknown fields are refused')

  const s = await signIn(app, READ_TOKEN)
  t.equal((await app.inject({ method: 'GET', url: '/v1/flags', headers: { host: HOST, cookie: s.cookie } })).statusCode, 200)
  const write = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: fromConsole(s), payload: { enabled: true } })
  t.equal(write.statusCode, 403)
  t.equal(write.json().code, 'DRAWBRIDGE_ERR_FORBIDDEN')
  const view = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: { host: HOST, cookie: s.cookie } })
  t.equal(view.json().enabled, false)
})

t.test('a change made with the session cookie from another site is refused', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const s = await signIn(app, ADMIN_TOKEN)
  const body = { enabled: true }
  const attempts: Array<[string, Record<string, string>]> = [
    ['no Origin, no CSRF header (a form post from a page that hides its origin)', { host: HOST, cookie: s.cookie }],
    ['another Origin', { host: HOST, cookie: s.cookie, origin: 'https://evil.example', 'x-drawbridge-csrf': s.csrf }],
    ['Sec-Fetch-Site: cross-site', { host: HOST, cookie: s.cookie, origin: ORIGIN, 'sec-fetch-site': 'cross-site', 'x-drawbridge-csrf': s.csrf }],
    ['the right Origin without the CSRF header', { host: HOST, cookie: s.cookie, origin: ORIGIN, 'sec-fetch-site': 'same-origin' }],
    ['a wrong CSRF header', { host: HOST, cookie: s.cookie, origin: ORIGIN, 'x-drawbridge-csrf': s.csrf.slice(0, -2) + 'AA' }],
    ['Origin: null', { host: HOST, cookie: s.cookie, origin: 'null', 'x-drawbridge-csrf': s.csrf }]
  ]
  for (const [what, headers] of attempts) {
    const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers, payload: body })
    t.equal(res.statusCode, 403, what)
    t.equal(res.json().code, 'DRAWBRIDGE_ERR_CROSS_SITE', what)
  }
  const forms = await app.inject({ method: 'POST', url: '/v1/migrations/analyze', headers: { host: HOST, cookie: s.cookie, origin: 'https://evil.example' }, payload: {} })
  t.equal(forms.statusCode, 403, 'every state-changing method, not only PATCH')
  t.equal((await app.inject({ method: 'GET', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN) })).json().enabled, false, 'nothing changed')

  const signInElsewhere = await app.inject({ method: 'POST', url: '/ui/session', headers: { host: HOST, origin: 'https://evil.example' }, payload: { token: ADMIN_TOKEN } })
  t.equal(signInElsewhere.statusCode, 403, 'a sign-in planted by another site is refused too')
  t.equal(signInElsewhere.headers['set-cookie'], undefined)

  const bearer = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: { ...auth(ADMIN_TOKEN), origin: 'https://evil.example' }, payload: body })
  t.equal(bearer.statusCode, 200, 'a bearer token is not a browser credential: no cross-site check')
})

t.test('forged, expired, signed-out and orphaned sessions are refused', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--read-token', READ_TOKEN])
  const s = await signIn(app, READ_TOKEN)
  const get = async (cookie: string): Promise<number> => (await app.inject({ method: 'GET', url: '/v1/maintenance', headers: { host: HOST, cookie } })).statusCode
  t.equal(await get(s.cookie), 200)

  const [name, value] = s.cookie.split('=') as [string, string]
  const raw = decodeURIComponent(value)
  const [fp, exp, id, sig] = raw.split('.') as [string, string, string, string]
  t.equal(await get(`${name}=${encodeURIComponent(`${fp}.${Number(exp) + 3600}.${id}.${sig}`)}`), 401, 'a longer expiry breaks the signature')
  t.equal(await get(`${name}=garbage`), 401)
  t.equal(await get(`${name}=${'a'.repeat(5000)}`), 401, 'an oversized cookie is refused before any HMAC')

  // Another configuration's sessions (other tokens) do not pass here.
  const other = new ConsoleSessions({ adminToken: 'another-admin-token-0123456789', tokens: [] })
  const foreign = other.issue({ actor: 'admin', role: 'admin', digest: Buffer.alloc(32) }).cookie
  t.equal(await get(`${name}=${encodeURIComponent(foreign)}`), 401)

  // Expired: a clock eight hours and a second later.
  const later = new ConsoleSessions(ctx.config, () => Date.now() + 8 * 3600_000 + 1000)
  t.equal(later.fromCookieHeader(s.cookie), null, 'expired after its lifetime')
  t.not(new ConsoleSessions(ctx.config).fromCookieHeader(s.cookie), null, 'a second process with the same config accepts it (replicas)')

  const out = await app.inject({ method: 'DELETE', url: '/ui/session', headers: fromConsole(s) })
  t.equal(out.statusCode, 204, 'a read session may sign out')
  t.match(String(out.headers['set-cookie']), new RegExp(`^${SESSION_COOKIE}=;.*Max-Age=0`, 'i'), 'the cookie is cleared')
  t.equal(await get(s.cookie), 401, 'and the session is over even if the cookie is replayed')
})

t.test('every /ui/ answer carries a strict CSP; the page and assets are public, the rest is not', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const page = await app.inject({ method: 'GET', url: '/ui/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  const csp = String(page.headers['content-security-policy'])
  t.match(csp, /default-src 'none'/)
  t.match(csp, /script-src 'self'(;|$)/)
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script, no eval')
  t.match(csp, /frame-ancestors 'none'/)
  t.equal(page.headers['x-frame-options'], 'DENY')
  t.notMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'the page itself has no inline script')

  const script = /src="(assets\/[^"]+\.js)"/.exec(page.body)?.[1]
  t.ok(script, 'the page loads its script from assets/')
  const asset = await app.inject({ method: 'GET', url: `/ui/${script ?? ''}` })
  t.equal(asset.statusCode, 200, 'assets need no session')
  t.match(asset.headers['content-type'], /javascript/)
  t.match(asset.headers['cache-control'], /immutable/)
  t.match(String(asset.headers['content-security-policy']), /default-src 'none'/)

  t.equal((await app.inject({ method: 'GET', url: '/ui' })).headers.location, '/ui/')
  const missing = await app.inject({ method: 'GET', url: '/ui/assets/nope.js' })
  t.equal(missing.statusCode, 404)
  t.match(String(missing.headers['content-security-policy']), /default-src 'none'/)
  const traversal = await app.inject({ method: 'GET', url: '/ui/assets/..%2f..%2fpackage.json' })
  t.not(traversal.statusCode, 200, 'nothing outside the assets')

  for (const url of ['/ui/session', '/ui/preview', '/ui/events']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 401, `${url} needs the session`)
    t.match(String(res.headers['content-security-policy']), /default-src 'none'/, `${url} has the CSP too`)
  }
})

t.test('the preview is the real page, sandboxed, with the draft laid over the state', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN), payload: { message: 'Saved message', secret: true } })
  const saved = await app.inject({ method: 'GET', url: '/ui/preview', headers: auth(ADMIN_TOKEN) })
  t.equal(saved.statusCode, 200)
  t.match(saved.body, /Saved message/)
  t.match(saved.body, /We&rsquo;ll be right back/, 'the packaged template')
  const csp = String(saved.headers['content-security-policy'])
  t.match(csp, /sandbox/)
  t.notMatch(csp, /script-src/, 'no script runs in the preview')
  t.match(csp, /frame-ancestors 'self'/)

  const draft = await app.inject({ method: 'GET', url: `/ui/preview?message=${encodeURIComponent('<b>Back soon</b>')}&retryAfter=120`, headers: auth(ADMIN_TOKEN) })
  t.match(draft.body, /&lt;b&gt;Back soon&lt;\/b&gt;/, 'the draft, escaped as the gateway escapes it')
  t.match(draft.body, /data-retry-after="120"/)
  const state = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN) })
  t.equal(state.json().message, 'Saved message', 'a preview changes nothing')
  t.equal((await app.inject({ method: 'GET', url: '/ui/preview?nope=1', headers: auth(ADMIN_TOKEN) })).statusCode, 400)
})

t.test('with no token configured the console is open (loopback only), as the API is', async (t) => {
  const { app } = await buildTestAdmin(t, [])
  const who = await app.inject({ method: 'GET', url: '/ui/session' })
  t.equal(who.statusCode, 200)
  t.match(who.json(), { open: true, role: 'admin', csrf: null })
})

t.test('the built console is small and works offline: nothing loaded from another origin', async (t) => {
  const { readFileSync, readdirSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { UI_DIR } = await import('../../src/console/console-routes.js')
  const manifest = JSON.parse(readFileSync(join(UI_DIR, 'manifest.json'), 'utf8')) as { total: { bytes: number, gzipBytes: number } }
  t.comment(`console assets: ${manifest.total.bytes} bytes, ${manifest.total.gzipBytes} gzipped`)
  t.ok(manifest.total.bytes < 200_000, `under 200 kB (${manifest.total.bytes})`)
  const html = readFileSync(join(UI_DIR, 'index.html'), 'utf8')
  t.notMatch(html, /(src|href)="(https?:)?\/\//, 'the page references only its own files')
  for (const file of readdirSync(join(UI_DIR, 'assets'))) {
    const text = readFileSync(join(UI_DIR, 'assets', file), 'utf8')
    t.notMatch(text, /url\(\s*['"]?(https?:)?\/\/|@import\s+['"]?(https?:)?\/\/|import\(\s*['"](https?:)?\/\//, `${file} loads nothing from elsewhere`)
  }
})

t.test('GET /ui/events tells an open console each new state version; closing the port ends the stream', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as import('node:net').AddressInfo
  const { request } = await import('undici')
  const res = await request(`http://127.0.0.1:${port}/ui/events`, { headers: auth(ADMIN_TOKEN) })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/event-stream/)
  t.match(String(res.headers['content-security-policy']), /default-src 'none'/)
  let text = ''
  const events = (): Array<{ event: string, data: { version: number } }> => [...text.matchAll(/event: (\w+)\ndata: (.*)\n\n/g)].map((m) => ({ event: m[1] as string, data: JSON.parse(m[2] as string) }))
  const ended = new Promise<void>((resolve) => {
    res.body.setEncoding('utf8').on('data', (chunk: string) => { text += chunk }).on('end', resolve).on('error', () => { resolve() })
  })
  const until = async (ok: () => boolean): Promise<void> => { for (let i = 0; i < 100 && !ok(); i++) await new Promise((resolve) => setTimeout(resolve, 20)) }
  await until(() => events().length >= 1)
  const first = events()[0]
  t.equal(first?.event, 'state', 'the current version first')
  await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: auth(ADMIN_TOKEN), payload: { message: 'changed' } })
  await until(() => events().length >= 2)
  t.ok((events()[1]?.data.version ?? 0) > (first?.data.version ?? 0), 'then each newer one')
  await app.close()
  await ended
  t.pass('closing the admin port ends the stream instead of waiting on it')
})
