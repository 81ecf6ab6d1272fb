import t, { type Test } from 'tap'
import { OpenFeature } from '@openfeature/server-sdk'
import { OFREPProvider } from '@openfeature/ofrep-provider'
import { ADMIN_TOKEN, READ_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'

const admin = auth(ADMIN_TOKEN)

async function setup (t: Test) {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--read-token', READ_TOKEN])
  const put = async (key: string, payload: object): Promise<void> => {
    const res = await app.inject({ method: 'PUT', url: `/v1/flags/${key}`, headers: admin, payload })
    t.equal(res.statusCode, 201, res.body)
  }
  await put('dark-launch', { enabled: true })
  await put('kill-switch', { enabled: false })
  await put('theme', { enabled: true, variants: [{ name: 'blue', weight: 1 }, { name: 'green', weight: 1 }] })
  await put('checkout-copy', { enabled: true, variants: [{ name: 'short', weight: 1, value: 'Buy now' }] })
  await put('limits', { enabled: true, variants: [{ name: 'big', weight: 1, value: { max: 100 } }] })
  await put('half', { enabled: true, rollout: { percentage: 50 } })
  await put('pro', { enabled: true, rollout: { percentage: 0 }, rules: [{ attribute: 'plan', in: ['pro'] }] })
  return { app, ctx }
}

t.test('the official OpenFeature server SDK with the OFREP provider, as a real client', async (t) => {
  const { app } = await setup(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const provider = new OFREPProvider({ baseUrl: `http://127.0.0.1:${port}`, headers: { Authorization: `Bearer ${READ_TOKEN}` } })
  await OpenFeature.setProviderAndWait('drawbridge', provider)
  t.teardown(async () => { await OpenFeature.clearProviders() })
  const client = OpenFeature.getClient('drawbridge')
  const user = { targetingKey: 'user-1', plan: 'pro' }

  const dark = await client.getBooleanDetails('dark-launch', false, user)
  t.comment(`boolean: ${JSON.stringify(dark)}`)
  t.match(dark, { flagKey: 'dark-launch', value: true, variant: 'on', reason: 'STATIC' })
  t.equal(dark.errorCode, undefined)

  const kill = await client.getBooleanDetails('kill-switch', true, user)
  t.comment(`disabled: ${JSON.stringify(kill)}`)
  t.match(kill, { value: false, variant: 'off', reason: 'DISABLED' })

  const pro = await client.getBooleanDetails('pro', false, user)
  t.match(pro, { value: true, reason: 'TARGETING_MATCH' })
  t.equal(await client.getBooleanValue('pro', true, { targetingKey: 'user-1', plan: 'free' }), false)

  const theme = await client.getStringDetails('theme', 'default', user)
  t.comment(`variant: ${JSON.stringify(theme)}`)
  t.ok(theme.value === 'blue' || theme.value === 'green')
  t.equal(theme.variant, theme.value)
  t.equal(theme.reason, 'STATIC')

  const copy = await client.getStringDetails('checkout-copy', 'Pay', user)
  t.comment(`string value: ${JSON.stringify(copy)}`)
  t.match(copy, { value: 'Buy now', variant: 'short' })

  t.same(await client.getObjectValue('limits', { max: 1 }, user), { max: 100 })

  const missing = await client.getBooleanDetails('no-such-flag', true, user)
  t.comment(`missing: ${JSON.stringify(missing)}`)
  t.match(missing, { value: true, errorCode: 'FLAG_NOT_FOUND', reason: 'ERROR' })
  t.equal(await client.getStringValue('no-such-flag', 'code default', user), 'code default')

  const noKey = await client.getBooleanDetails('half', true, {})
  t.comment(`no targeting key: ${JSON.stringify(noKey)}`)
  t.match(noKey, { value: true, errorCode: 'TARGETING_KEY_MISSING' })

  // a string flag read as a boolean is a type mismatch: the code default wins
  t.match(await client.getBooleanDetails('checkout-copy', false, user), { value: false, errorCode: 'TYPE_MISMATCH' })

  // A user in the 50% split sees the same answer every time.
  const a = await client.getBooleanValue('half', false, { targetingKey: 'sticky-user' })
  for (let i = 0; i < 3; i++) t.equal(await client.getBooleanValue('half', !a, { targetingKey: 'sticky-user' }), a)

  // Without a token the provider is refused (401) and the default is served.
  const anon = new OFREPProvider({ baseUrl: `http://127.0.0.1:${port}` })
  await OpenFeature.setProviderAndWait('anon', anon)
  t.match(await OpenFeature.getClient('anon').getBooleanDetails('dark-launch', false, user), { value: false, reason: 'ERROR' })
})

t.test('single evaluation over HTTP: shapes and error codes', async (t) => {
  const { app } = await setup(t)
  const post = async (url: string, payload: string | object | undefined, headers: Record<string, string> = {}) =>
    await app.inject({ method: 'POST', url, headers: { ...auth(READ_TOKEN), 'content-type': 'application/json', ...headers }, payload: typeof payload === 'object' ? JSON.stringify(payload) : payload })

  const ok = await post('/ofrep/v1/evaluate/flags/checkout-copy', { context: { targetingKey: 'u' } })
  t.equal(ok.statusCode, 200)
  t.match(ok.headers['content-type'], /application\/json/)
  t.same(ok.json(), { key: 'checkout-copy', reason: 'STATIC', variant: 'short', value: 'Buy now', metadata: {} })

  const off = await post('/ofrep/v1/evaluate/flags/kill-switch', { context: { targetingKey: 'u' } })
  t.same(off.json(), { key: 'kill-switch', reason: 'DISABLED', variant: 'off', value: false, metadata: {} })

  const nf = await post('/ofrep/v1/evaluate/flags/nope', { context: { targetingKey: 'u' } })
  t.equal(nf.statusCode, 404)
  t.match(nf.json(), { key: 'nope', errorCode: 'FLAG_NOT_FOUND' })

  const missingKey = await post('/ofrep/v1/evaluate/flags/half', { context: {} })
  t.equal(missingKey.statusCode, 400)
  t.match(missingKey.json(), { key: 'half', errorCode: 'TARGETING_KEY_MISSING', errorDetails: /targetingKey/ })
  t.equal((await post('/ofrep/v1/evaluate/flags/dark-launch', { context: {} })).statusCode, 200, 'a static flag needs no targeting key')
  t.equal((await post('/ofrep/v1/evaluate/flags/dark-launch', undefined, { 'content-type': 'application/json' })).statusCode, 200, 'an empty body is an empty context')

  const badCtx = await post('/ofrep/v1/evaluate/flags/dark-launch', { context: 'user-1' })
  t.equal(badCtx.statusCode, 400)
  t.match(badCtx.json(), { key: 'dark-launch', errorCode: 'INVALID_CONTEXT' })
  const badKey = await post('/ofrep/v1/evaluate/flags/dark-launch', { context: { targetingKey: 42 } })
  t.match(badKey.json(), { key: 'dark-launch', errorCode: 'INVALID_CONTEXT', errorDetails: /targetingKey must be a string/ })

  const parse = await post('/ofrep/v1/evaluate/flags/dark-launch', '{"context": {')
  t.equal(parse.statusCode, 400)
  t.match(parse.json(), { key: 'dark-launch', errorCode: 'PARSE_ERROR' })
  t.match((await post('/ofrep/v1/evaluate/flags/dark-launch', '[1,2]')).json(), { errorCode: 'PARSE_ERROR' })

  t.equal((await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags/dark-launch', payload: {} })).statusCode, 401)
  t.equal((await post('/ofrep/v1/evaluate/flags/dark-launch', {}, auth(ADMIN_TOKEN))).statusCode, 200, 'the admin token evaluates too')
})

t.test('bulk evaluation with ETag / If-None-Match', async (t) => {
  const { app } = await setup(t)
  const bulk = async (payload: unknown, headers: Record<string, string> = {}) =>
    await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags', headers: { ...auth(READ_TOKEN), ...headers }, payload: payload as object })

  const first = await bulk({ context: { targetingKey: 'user-1', plan: 'pro' } })
  t.equal(first.statusCode, 200)
  const etag = first.headers.etag as string
  t.match(etag, /^"[A-Za-z0-9_-]+"$/)
  const flags = first.json().flags as Array<Record<string, unknown>>
  t.same(flags.map((f) => f.key), ['checkout-copy', 'dark-launch', 'half', 'kill-switch', 'limits', 'pro', 'theme'])
  for (const f of flags) t.same(f.metadata, {}, `${String(f.key)} metadata is an object`)
  t.match(flags.find((f) => f.key === 'kill-switch'), { value: false, reason: 'DISABLED', variant: 'off' })

  const same = await bulk({ context: { plan: 'pro', targetingKey: 'user-1' } }, { 'if-none-match': etag })
  t.equal(same.statusCode, 304, 'same context (other key order), same flags: 304')
  t.equal(same.body, '')
  t.equal(same.headers.etag, etag)
  t.equal((await bulk({ context: { targetingKey: 'user-1', plan: 'pro' } }, { 'if-none-match': `"x", W/${etag}` })).statusCode, 304, 'weak and listed tags match')

  const otherCtx = await bulk({ context: { targetingKey: 'user-1', plan: 'free' } }, { 'if-none-match': etag })
  t.equal(otherCtx.statusCode, 200, 'a context change is not a 304')
  t.not(otherCtx.headers.etag, etag)
  t.match(otherCtx.json().flags.find((f: { key: string }) => f.key === 'pro'), { value: false })

  await app.inject({ method: 'PATCH', url: '/v1/flags/dark-launch', headers: admin, payload: { enabled: false } })
  const afterChange = await bulk({ context: { targetingKey: 'user-1', plan: 'pro' } }, { 'if-none-match': etag })
  t.equal(afterChange.statusCode, 200, 'a flag change is not a 304')
  t.not(afterChange.headers.etag, etag)
  t.match(afterChange.json().flags.find((f: { key: string }) => f.key === 'dark-launch'), { value: false, reason: 'DISABLED' })

  await app.inject({ method: 'PUT', url: '/v1/flags/dark-launch/overrides/user-1', headers: admin, payload: { enabled: true } })
  const afterOverride = await bulk({ context: { targetingKey: 'user-1', plan: 'pro' } }, { 'if-none-match': afterChange.headers.etag as string })
  t.equal(afterOverride.statusCode, 200, 'an override change is not a 304')

  const noKey = await bulk({ context: {} })
  t.equal(noKey.statusCode, 200)
  t.match(noKey.json().flags.find((f: { key: string }) => f.key === 'half'), { key: 'half', errorCode: 'TARGETING_KEY_MISSING' })
  t.match(noKey.json().flags.find((f: { key: string }) => f.key === 'dark-launch'), { value: false })

  const bad = await bulk({ context: [] })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { errorCode: 'INVALID_CONTEXT' })
  const parse = await app.inject({ method: 'POST', url: '/ofrep/v1/evaluate/flags', headers: { ...auth(READ_TOKEN), 'content-type': 'application/json' }, payload: 'nope' })
  t.equal(parse.statusCode, 400)
  t.match(parse.json(), { errorCode: 'PARSE_ERROR' })
})
