import t from 'tap'
import { ADMIN_TOKEN, auth, buildTestAdmin } from './helpers.js'

const admin = auth(ADMIN_TOKEN)

t.test('maintenance: ETag on GET and PATCH; a stale If-Match is a 412 and changes nothing', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const read = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: admin })
  const tag = read.headers.etag as string
  t.match(tag, /^"[A-Za-z0-9_-]{16,}"$/, 'a strong ETag')
  const again = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: admin })
  t.equal(again.headers.etag, tag, 'stable while nothing changes')
  const cached = await app.inject({ method: 'GET', url: '/v1/maintenance', headers: { ...admin, 'if-none-match': tag } })
  t.equal(cached.statusCode, 304, 'a conditional GET of an unchanged resource')
  t.equal(cached.body, '')

  const write = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: { ...admin, 'if-match': tag }, payload: { message: 'first' } })
  t.equal(write.statusCode, 200)
  const newTag = write.headers.etag as string
  t.not(newTag, tag, 'the write answers the new ETag')
  t.equal((await app.inject({ method: 'GET', url: '/v1/maintenance', headers: admin })).headers.etag, newTag, 'which GET then answers')

  const version = ctx.holder.current?.version
  const stale = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: { ...admin, 'if-match': tag }, payload: { message: 'lost?' } })
  t.equal(stale.statusCode, 412)
  t.match(stale.json(), { statusCode: 412, code: 'DRAWBRIDGE_ERR_PRECONDITION_FAILED', message: /changed since it was read/ })
  const weak = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: { ...admin, 'if-match': `W/${newTag}` }, payload: { message: 'weak' } })
  t.equal(weak.statusCode, 412, 'If-Match compares strongly: a weak tag never matches')
  t.equal(ctx.holder.current?.version, version, 'nothing was written')
  t.equal(ctx.holder.current?.maintenance.message, 'first')

  const listed = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: { ...admin, 'if-match': `"nope", ${newTag}` }, payload: { message: 'listed' } })
  t.equal(listed.statusCode, 200, 'any tag of a list may match')
  const star = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: { ...admin, 'if-match': '*' }, payload: { message: 'star' } })
  t.equal(star.statusCode, 200, '* matches an existing resource')
})

t.test('flags: ETag on GET, PUT, PATCH; If-Match on PUT, PATCH and DELETE; If-None-Match: * creates only', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const url = '/v1/flags/checkout'
  const missing = await app.inject({ method: 'PATCH', url, headers: { ...admin, 'if-match': '*' }, payload: { enabled: true } })
  t.equal(missing.statusCode, 404)
  const blindCreate = await app.inject({ method: 'PUT', url, headers: { ...admin, 'if-match': '"x"' }, payload: { enabled: false } })
  t.equal(blindCreate.statusCode, 412, 'If-Match on a flag that does not exist')

  const created = await app.inject({ method: 'PUT', url, headers: { ...admin, 'if-none-match': '*' }, payload: { enabled: false } })
  t.equal(created.statusCode, 201)
  const tag = created.headers.etag as string
  t.ok(tag)
  const read = await app.inject({ method: 'GET', url, headers: admin })
  t.equal(read.headers.etag, tag)
  const dup = await app.inject({ method: 'PUT', url, headers: { ...admin, 'if-none-match': '*' }, payload: { enabled: true } })
  t.equal(dup.statusCode, 412, 'create-only PUT of an existing flag')

  const patched = await app.inject({ method: 'PATCH', url, headers: { ...admin, 'if-match': tag }, payload: { enabled: true } })
  t.equal(patched.statusCode, 200)
  const tag2 = patched.headers.etag as string
  t.not(tag2, tag)

  const version = ctx.holder.current?.version
  for (const [method, payload] of [['PATCH', { enabled: false }], ['PUT', { enabled: false }], ['DELETE', undefined]] as const) {
    const res = await app.inject({ method, url, headers: { ...admin, 'if-match': tag }, ...(payload === undefined ? {} : { payload }) })
    t.equal(res.statusCode, 412, `${method} with a stale If-Match`)
    t.equal(res.json().code, 'DRAWBRIDGE_ERR_PRECONDITION_FAILED')
  }
  t.equal(ctx.holder.current?.version, version, 'none of them wrote')
  t.equal(ctx.holder.current?.flags.checkout?.enabled, true)

  const replaced = await app.inject({ method: 'PUT', url, headers: { ...admin, 'if-match': tag2 }, payload: { enabled: false } })
  t.equal(replaced.statusCode, 200)
  const deleted = await app.inject({ method: 'DELETE', url, headers: { ...admin, 'if-match': replaced.headers.etag as string } })
  t.equal(deleted.statusCode, 204)
})

t.test('list edits: add and remove single entries, checked like the lists', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const patch = async (payload: object): Promise<{ statusCode: number, json: () => Record<string, unknown> }> =>
    await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload })
  t.equal((await patch({ allow: ['10.0.0.0/8'], exceptPaths: ['/healthz'] })).statusCode, 200)
  let res = await patch({ allowAdd: ['192.168.0.0/16', '10.0.0.0/8'], exceptPathsAdd: ['/webhooks'] })
  t.same(res.json().allow, ['10.0.0.0/8', '192.168.0.0/16'], 'added once, order kept')
  t.same(res.json().exceptPaths, ['/healthz', '/webhooks'])
  res = await patch({ allowRemove: ['10.0.0.0/8', '1.2.3.4'], exceptPathsRemove: ['/healthz'] })
  t.same(res.json().allow, ['192.168.0.0/16'], 'removing an absent entry is not an error')
  t.same(res.json().exceptPaths, ['/webhooks'])
  res = await patch({ pathsAdd: ['/admin'] })
  t.same(res.json().paths, ['/admin'], 'pathsAdd starts a scope')

  const version = ctx.holder.current?.version
  const bad: Array<[object, RegExp]> = [
    [{ allowAdd: ['10.0.0.0/33'] }, /allowAdd\/0 /],
    [{ allowAdd: ['nope'] }, /allowAdd\/0 /],
    [{ allow: ['10.0.0.0/8'], allowAdd: ['10.1.0.0/16'] }, /cannot be combined with allowAdd/],
    [{ allowAdd: ['10.0.0.0/8'], allowRemove: ['10.0.0.0/8'] }, /in both allowAdd and allowRemove/],
    [{ exceptPathsAdd: ['healthz'] }, /exceptPathsAdd\/0 must be a path/],
    [{ pathsRemove: ['/admin'] }, /would leave no path prefix/],
    [{ allowAdd: '10.0.0.0/8' }, /allowAdd must be array/]
  ]
  for (const [payload, message] of bad) {
    const r = await patch(payload)
    t.equal(r.statusCode, 400, JSON.stringify(payload))
    t.match(r.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message }, JSON.stringify(payload))
  }
  t.equal(ctx.holder.current?.version, version, 'no bad edit was written')
})
