import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { request } from 'undici'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

/*
 * OpenFeature's web provider in a real browser (Debian's chromium driven by
 * playwright-core): a page on an allowed origin evaluates Drawbridge's flags
 * over OFREP with CORS, and sees a change by polling. Plus what a browser
 * needs from the port, checked on the wire: preflights without a token, the
 * allowed origin echoed, X-API-Key, metadata on every body, and variant flags
 * that are off answered without a value.
 */
const ADMIN = 'browser-admin-token-0123456789'
const READ = 'browser-read-token-0123456789'
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const bundle = await build({
  entryPoints: [fileURLToPath(new URL('./browser/ofrep-page.ts', import.meta.url))],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'chrome120',
  write: false,
  logLevel: 'silent'
})
const script = bundle.outputFiles[0]?.text ?? ''
const page = createServer((req, res) => {
  if (req.url === '/app.js') { res.writeHead(200, { 'content-type': 'text/javascript' }).end(script); return }
  res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>shop</title><script src="/app.js"></script>')
})
await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve))
t.teardown(() => { page.close() })
const origin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`

const upstream = await startUpstream(t)
const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', ADMIN, '--read-token', READ, '--cors-origins', `${origin},https://other.example`])
const base = `http://${gw.admin}`

async function admin (method: 'PUT' | 'PATCH', path: string, body: unknown): Promise<void> {
  const res = await request(`${base}${path}`, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`)
}
await admin('PUT', '/v1/flags/new-checkout', { enabled: true })
await admin('PUT', '/v1/flags/checkout-copy', { enabled: true, variants: [{ name: 'short', weight: 1, value: 'Buy' }] })
await admin('PUT', '/v1/flags/copy-off', { enabled: false, variants: [{ name: 'a', weight: 1, value: 'A' }, { name: 'b', weight: 1, value: 'B' }] })
await admin('PUT', '/v1/flags/copy-ramp', { enabled: true, rollout: { percentage: 0 }, variants: [{ name: 'a', weight: 1, value: 'A' }] })

async function ofrep (path: string, headers: Record<string, string>, body: unknown = { context: { targetingKey: 'u1' } }): Promise<{ status: number, headers: Record<string, unknown>, json: any }> {
  const res = await request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, json: text === '' ? null : JSON.parse(text) }
}

t.test('variant flags that are off carry no value; every body has metadata', async (t) => {
  const auth = { authorization: `Bearer ${READ}` }
  t.same((await ofrep('/ofrep/v1/evaluate/flags/copy-off', auth)).json, { key: 'copy-off', reason: 'DISABLED', metadata: {} })
  t.same((await ofrep('/ofrep/v1/evaluate/flags/copy-ramp', auth)).json, { key: 'copy-ramp', reason: 'DEFAULT', metadata: {} }, 'outside the rollout: DEFAULT')
  t.same((await ofrep('/ofrep/v1/evaluate/flags/new-checkout', auth)).json, { key: 'new-checkout', reason: 'STATIC', variant: 'on', value: true, metadata: {} })
  await admin('PATCH', '/v1/flags/new-checkout', { enabled: false })
  t.same((await ofrep('/ofrep/v1/evaluate/flags/new-checkout', auth)).json, { key: 'new-checkout', reason: 'DISABLED', variant: 'off', value: false, metadata: {} }, 'a boolean flag stays false')
  await admin('PATCH', '/v1/flags/new-checkout', { enabled: true })
  const missing = await ofrep('/ofrep/v1/evaluate/flags/nope', auth)
  t.same([missing.status, missing.json.metadata], [404, {}])
  const bad = await ofrep('/ofrep/v1/evaluate/flags', auth, { context: 'x' })
  t.same([bad.status, bad.json.metadata], [400, {}])
})

t.test('X-API-Key takes the token where Authorization does not come', async (t) => {
  t.equal((await ofrep('/ofrep/v1/evaluate/flags/new-checkout', { 'x-api-key': READ })).status, 200)
  t.equal((await ofrep('/ofrep/v1/evaluate/flags', { 'x-api-key': ADMIN })).status, 200)
  t.equal((await ofrep('/ofrep/v1/evaluate/flags/new-checkout', { 'x-api-key': 'not-a-token-at-all-0000' })).status, 401)
  const onAdmin = await request(`${base}/v1/flags`, { headers: { 'x-api-key': ADMIN } })
  await onAdmin.body.dump()
  t.equal(onAdmin.statusCode, 401, 'only the OFREP routes read X-API-Key')
})

t.test('CORS: preflight without a token, the allowed origin echoed, others get nothing', async (t) => {
  const preflight = async (from: string): Promise<{ status: number, headers: Record<string, unknown> }> => {
    const res = await request(`${base}/ofrep/v1/evaluate/flags`, { method: 'OPTIONS', headers: { origin: from, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } })
    await res.body.dump()
    return { status: res.statusCode, headers: res.headers }
  }
  const allowed = await preflight(origin)
  t.equal(allowed.status, 204)
  t.equal(allowed.headers['access-control-allow-origin'], origin)
  t.match(allowed.headers['access-control-allow-headers'], /authorization/)
  t.match(allowed.headers['access-control-allow-methods'], /POST/)
  t.equal(allowed.headers.vary, 'origin')
  const other = await preflight('https://evil.example')
  t.equal(other.status, 204)
  t.equal(other.headers['access-control-allow-origin'], undefined)
  const post = await ofrep('/ofrep/v1/evaluate/flags', { authorization: `Bearer ${READ}`, origin })
  t.equal(post.headers['access-control-allow-origin'], origin)
  t.match(post.headers['access-control-expose-headers'], /etag/)
  const refused = await ofrep('/ofrep/v1/evaluate/flags', { origin })
  t.equal(refused.status, 401)
  t.equal(refused.headers['access-control-allow-origin'], origin, 'a 401 is readable by the page too')
})

t.test('the official web provider in Chromium evaluates flags and sees a change by polling', { skip: existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}` }, async (t) => {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  t.teardown(async () => { await browser.close() })
  const tab = await browser.newPage()
  const errors: string[] = []
  tab.on('pageerror', (err) => errors.push(err.message))
  await tab.goto(origin)
  await tab.evaluate(async ([url, token]) => { await window.startFlags(url as string, ['Authorization', `Bearer ${token as string}`]) }, [base, READ])
  t.match(await tab.evaluate(() => window.readFlags()), {
    checkout: { value: true, reason: 'STATIC' },
    copy: { value: 'Buy', variant: 'short' },
    copyOff: { value: 'code-default', reason: 'DISABLED' }
  })
  const copyOff = (await tab.evaluate(() => window.readFlags())).copyOff as { errorCode?: string }
  t.notOk(copyOff.errorCode, 'the code default, not a type mismatch')

  await admin('PATCH', '/v1/flags/new-checkout', { enabled: false })
  await tab.waitForFunction(() => window.flagChanges > 0, undefined, { timeout: 10_000 })
  t.match(await tab.evaluate(() => window.readFlags()), { checkout: { value: false, reason: 'DISABLED' } }, 'the change arrived by polling')
  t.same(errors, [])
})
