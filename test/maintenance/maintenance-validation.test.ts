import t from 'tap'
import { ADMIN_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'

// Issue 17 case 4/6, issue 15 class 4: what the maintenance PATCH refuses at the edge.
const admin = auth(ADMIN_TOKEN)

t.test('redirect: a path or an absolute http(s) URL in visible ASCII, never another site in disguise', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const bad: Array<[string, RegExp]> = [
    ['/x\r\nSet-Cookie: pwn=1', /visible ASCII/],
    ['/x\nLocation: https://evil.test/', /visible ASCII/],
    ['/€', /visible ASCII/],
    ['/a\u0000b', /visible ASCII/],
    ['/\tevil.test', /visible ASCII/],
    ['/\t/evil.test', /visible ASCII/],
    ['/\\evil.test', /backslash/],
    ['\\\\evil.test', /backslash/],
    ['https://ok.test\\@evil.test/', /backslash/],
    ['//evil.test/', /must not start with "\/\/"/],
    ['/ space', /visible ASCII/],
    ['https://user:pw@status.example.com/', /credentials/],
    ['ftp://status.example.com/', /absolute http\(s\) URL/],
    ['javascript:alert(1)', /absolute http\(s\) URL/],
    ['https:status.example.com', /must name a host/],
    ['', /must not be empty/]
  ]
  for (const [redirect, message] of bad) {
    const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { enabled: true, paths: ['/app'], redirect } })
    t.equal(res.statusCode, 400, JSON.stringify(redirect))
    t.match(res.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message: /^redirect / }, JSON.stringify(redirect))
    t.match(res.json().message, message, JSON.stringify(redirect))
  }
  t.equal(ctx.holder.current?.version, 0, 'nothing was written')

  for (const redirect of ['/status', '/status?from=app', 'https://status.example.com/', 'http://status.example.com:8080/a?b=c#d']) {
    const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { paths: ['/app'], redirect } })
    t.equal(res.statusCode, 200, redirect)
    t.equal(res.json().redirect, redirect)
  }
})

t.test('a redirect inside the blocked scope would loop, and is refused whichever PATCH would create the loop', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN, '--public-url', 'https://www.example.com'])
  const patch = async (payload: object) => await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload })

  const everywhere = await patch({ enabled: true, redirect: '/maintenance.html' })
  t.equal(everywhere.statusCode, 400)
  t.match(everywhere.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message: /^redirect "\/maintenance.html" points inside the maintenance scope/ })
  t.equal((await patch({ redirect: 'https://www.example.com/sorry' })).statusCode, 400, 'an absolute URL to the gateway itself is a path on it')
  t.equal((await patch({ redirect: '/api/../app/x', paths: ['/app'] })).statusCode, 400, 'matched after normalisation')
  t.equal((await patch({ redirect: '/API', paths: ['/api'] })).statusCode, 400, 'the scope blocks every spelling of its paths, so /API would loop too')
  t.equal((await patch({ redirect: '/status', paths: ['/api'] })).statusCode, 200, 'outside the scope')

  t.equal((await patch({ redirect: '/sorry', paths: null, exceptPaths: ['/sorry'] })).statusCode, 200, 'an except path is fine')
  const unexcept = await patch({ exceptPaths: [] })
  t.equal(unexcept.statusCode, 400, 'removing the exception would make the existing redirect loop')
  t.match(unexcept.json().message, /points inside the maintenance scope/)
  t.equal((await patch({ redirect: 'https://status.example.com/' })).statusCode, 200, 'another site never loops')
  t.equal((await patch({ redirect: '/__drawbridge/status' })).statusCode, 200, 'reserved paths are never blocked')
})

t.test('dates are real calendar dates, and every date the API stores is accepted back', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  for (const endsAt of ['2026-02-30T00:00:00Z', '2027-02-29T00:00:00Z', '2026-04-31T12:00:00Z', '2026-13-01T00:00:00Z', '2026-11-22T24:00:00Z', '2026-11-22T03:60:00Z', '2026-11-22T03:00:00+25:00', '+275760-09-14T00:00:00.000Z']) {
    const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { endsAt } })
    t.equal(res.statusCode, 400, endsAt)
    t.match(res.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message: /^endsAt must be a real calendar date-time/ }, endsAt)
  }
  const leap = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { endsAt: '2028-02-29T10:00:00+02:00' } })
  t.equal(leap.json().endsAt, '2028-02-29T08:00:00.000Z')

  for (const endsAt of ['9999-12-31T23:59:59Z', '+010000-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z']) {
    const first = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { endsAt } })
    t.equal(first.statusCode, 200, endsAt)
    const stored = first.json().endsAt as string
    const back = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { endsAt: stored, startsAt: null } })
    t.equal(back.statusCode, 200, `${stored} is accepted back`)
    t.equal(back.json().endsAt, stored)
  }
})

t.test('exceptPaths and paths entries carry no control bytes', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  for (const [field, value] of [['exceptPaths', '/health\r\nX: y'], ['exceptPaths', '/a\u0000'], ['paths', '/v2\t'], ['paths', '/x\u0085']] as const) {
    const res = await app.inject({ method: 'PATCH', url: '/v1/maintenance', headers: admin, payload: { [field]: [value] } })
    t.equal(res.statusCode, 400, JSON.stringify(value))
    t.match(res.json(), { code: 'DRAWBRIDGE_ERR_INVALID', message: new RegExp(`^${field}/0 must not contain control characters`) })
  }
})
