import t from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { fetchText, rawRequest, startGateway } from './helpers.js'

const SECRET = '7f3e9a0c1b2d4e5f60718293a4b5c6d7'

function cookieOf (setCookie: string | string[] | undefined): string {
  const header = Array.isArray(setCookie) ? setCookie[0] : setCookie
  return (header ?? '').split(';')[0] as string
}

t.test('GET /<secret> sets the bypass cookie and redirects to /', async (t) => {
  let proxied = 0
  const upstream = await startUpstream(t, (req, res) => { proxied++; res.end(JSON.stringify(req.headers)) })
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true, secret: SECRET })

  const res = await fetchText(`${gw.url}/${SECRET}`)
  t.equal(res.status, 302)
  t.equal(res.headers.location, '/')
  t.equal(res.headers['cache-control'], 'no-store')
  const setCookie = res.headers['set-cookie'] as string
  t.match(setCookie, /^drawbridge_bypass=v1\.\d+\.[A-Za-z0-9_-]{43}; /)
  t.match(setCookie, /; Max-Age=43200/, '12 h by default')
  t.match(setCookie, /; Path=\//)
  t.match(setCookie, /; HttpOnly/)
  t.match(setCookie, /; SameSite=Lax/)
  t.notMatch(setCookie, /Secure/, 'not Secure over plain HTTP')
  t.notMatch(setCookie, SECRET, 'the secret is not in the cookie')

  const withCookie = await fetchText(`${gw.url}/orders`, { method: 'POST', body: 'x', headers: { cookie: `theme=dark; ${cookieOf(setCookie)}` } })
  t.equal(withCookie.status, 200, 'the cookie lets any method through')
  t.equal(proxied, 1)
  t.equal((await fetchText(`${gw.url}/${SECRET}`, { method: 'POST' })).status, 404, 'only GET sets the cookie; another method on the secret path is 404')
  t.equal((await fetchText(`${gw.url}/${SECRET.slice(0, -1)}`)).status, 503)
  t.equal(proxied, 1, 'the bypass URL is never proxied while maintenance is on')
})

t.test('Secure when the request is HTTPS (a trusted proxy says so)', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url, ['--trusted-proxies', '127.0.0.1', '--bypass-cookie-ttl-seconds', '600'])
  await gw.setMaintenance({ enabled: true, secret: SECRET })
  const res = await fetchText(`${gw.url}/${SECRET}`, { headers: { 'x-forwarded-proto': 'https' } })
  t.match(res.headers['set-cookie'], /; Secure$/)
  t.match(res.headers['set-cookie'], /Max-Age=600;/)
  const untrusted = await startGateway(t, upstream.url)
  await untrusted.setMaintenance({ enabled: true, secret: SECRET })
  const spoofed = await fetchText(`${untrusted.url}/${SECRET}`, { headers: { 'x-forwarded-proto': 'https' } })
  t.notMatch(spoofed.headers['set-cookie'], /Secure/, 'an untrusted peer cannot claim HTTPS')
})

t.test('forged, tampered, expired and rotated-secret cookies are refused', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url, ['--bypass-cookie-ttl-seconds', '60'])
  await gw.setMaintenance({ enabled: true, secret: SECRET })
  const good = cookieOf((await fetchText(`${gw.url}/${SECRET}`)).headers['set-cookie'])
  const value = good.slice('drawbridge_bypass='.length)
  const [, expiry, sig] = value.split('.') as [string, string, string]
  t.equal((await fetchText(`${gw.url}/`, { headers: { cookie: good } })).status, 200, 'valid')

  const bad: Record<string, string> = {
    forged: `v1.${expiry}.${'A'.repeat(43)}`,
    tampered: `v1.${expiry}.${sig.slice(0, 10)}${sig[10] === 'x' ? 'y' : 'x'}${sig.slice(11)}`,
    'extended expiry': `v1.${Number(expiry) + 86400}.${sig}`,
    expired: `v1.${Math.floor(Date.now() / 1000) - 10}.${sig}`,
    'the secret itself': SECRET
  }
  for (const [name, forged] of Object.entries(bad)) {
    t.equal((await fetchText(`${gw.url}/`, { headers: { cookie: `drawbridge_bypass=${forged}` } })).status, 503, name)
  }

  await gw.setMaintenance({ secret: 'a-brand-new-secret-0123456789abcd' })
  t.equal((await fetchText(`${gw.url}/`, { headers: { cookie: good } })).status, 503, 'rotated secret voids old cookies')
  await gw.setMaintenance({ secret: SECRET })
  t.equal((await fetchText(`${gw.url}/`, { headers: { cookie: good } })).status, 200, 'same secret back: same binding')
  await gw.setMaintenance({ secret: null })
  t.equal((await fetchText(`${gw.url}/`, { headers: { cookie: good } })).status, 503, 'cleared secret voids old cookies')
  t.equal((await fetchText(`${gw.url}/${SECRET}`)).status, 503, 'no secret, no bypass URL')
})

t.test('a cookie expires', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  const state = await gw.setMaintenance({ enabled: true, secret: SECRET })
  // Mint a cookie that expired a second ago with the real key, as a stolen old cookie would be.
  const { createBypassSigner } = await import('../../src/maintenance/bypass-cookie.js')
  const old = createBypassSigner(state.signingKey, SECRET).issue(Date.now() - 3_600_000, 3599)
  t.equal((await fetchText(`${gw.url}/`, { headers: { cookie: `drawbridge_bypass=${old}` } })).status, 503)
  const fresh = createBypassSigner(state.signingKey, SECRET).issue(Date.now(), 60)
  t.equal((await fetchText(`${gw.url}/`, { headers: { cookie: `drawbridge_bypass=${fresh}` } })).status, 200)
})

t.test('X-Drawbridge-Bypass header passes and is removed before forwarding', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url)
  await gw.setMaintenance({ enabled: true, secret: SECRET })
  const res = await rawRequest(gw.url, '/orders', { method: 'POST', body: 'x', headers: { 'x-drawbridge-bypass': SECRET } })
  t.equal(res.status, 200)
  const echo = JSON.parse(res.text) as { headers: Record<string, string> }
  t.equal(echo.headers['x-drawbridge-bypass'], undefined)
  t.equal((await rawRequest(gw.url, '/orders', { headers: { 'x-drawbridge-bypass': 'wrong' } })).status, 503)
  t.match(gw.ctx.metrics.render(), /rule="bypass-header"\} 1/)
})

t.test('the bypass path and secret never reach the access log', async (t) => {
  const { Writable } = await import('node:stream')
  const lines: string[] = []
  const { createLogger } = await import('../../src/logger.js')
  const upstream = await startUpstream(t)
  const gw = await startGateway(t, upstream.url, ['--access-log-sample', '1'])
  // Route the gateway's logger to memory: rebuild a gateway with a capturing logger.
  const logger = createLogger('info', new Writable({ write (chunk, _enc, cb) { lines.push(String(chunk)); cb() } }))
  const { buildGateway } = await import('../../src/proxy/gateway.js')
  const capture = await buildGateway({ ...gw.ctx, logger })
  const address = await capture.listen('127.0.0.1', 0)
  t.teardown(async () => { await capture.close(0) })
  await gw.setMaintenance({ enabled: true, secret: SECRET })
  await fetchText(`http://${address}/${SECRET}`)
  await fetchText(`http://${address}/blocked?token=abc`, { headers: { 'x-drawbridge-bypass': SECRET } })
  await fetchText(`http://${address}/other`)
  await gw.setMaintenance({ enabled: false })
  await fetchText(`http://${address}/${SECRET}`)
  await new Promise((resolve) => setTimeout(resolve, 50))
  const log = lines.join('')
  t.match(log, /"path":"\/other"/, 'requests are logged when sampled')
  t.match(log, /"path":"\/blocked"/, 'without the query string')
  t.notMatch(log, SECRET, 'never the secret')
  t.notMatch(log, /token=abc/)
})
