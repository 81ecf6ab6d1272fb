import t from 'tap'
import { adminCall, rawRequest, recordingUpstream } from '../helpers/raw-http.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'

/*
 * Issue 17, cases 2 and 3, as an attacker sends them: raw request lines on a
 * socket to the real binary, against a recording upstream. A target the
 * gateway cannot read unambiguously is 400 and never proxied; block rules
 * match every spelling an upstream reads as the blocked path; the upstream
 * receives the normalised target.
 */

const TOKEN = 'strict-targets-admin-token-0123'

t.test('case 2: a fragment in the request target is 400, never proxied', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  await adminCall(gw, TOKEN, 'PUT', '/v1/flags/new-api', { enabled: false, gate: { paths: ['/v2'], status: 404 } })

  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { enabled: true, exceptPaths: ['/health'] })
  t.equal((await rawRequest(gw.gateway, 'GET', '/admin#/../health')).status, 400, 'except path: /admin#/../health')
  t.equal((await rawRequest(gw.gateway, 'GET', '/health#x')).status, 400, 'even on an excepted path')

  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { exceptPaths: [], paths: ['/admin'] })
  t.equal((await rawRequest(gw.gateway, 'GET', '/admin#x')).status, 400, 'scope: /admin#x')

  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { enabled: false, paths: null })
  t.equal((await rawRequest(gw.gateway, 'GET', '/v2#x')).status, 400, 'gate: /v2#x')
  t.equal((await rawRequest(gw.gateway, 'GET', '/other?q#x')).status, 400, 'a # in the query too')
  t.same(upstream.seen, [], 'nothing reached the upstream')

  const metrics = await (await fetch(`http://${gw.admin}/metrics`)).text()
  t.match(metrics, /drawbridge_requests_total\{decision="reject",rule="bad-target"\} 5/, 'counted as bad-target')
})

t.test('case 3: paths an upstream reads differently are refused, or blocked in every spelling', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  await adminCall(gw, TOKEN, 'PUT', '/v1/flags/new-api', { enabled: false, gate: { paths: ['/v2'], status: 404 } })

  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { enabled: true, exceptPaths: ['/health'] })
  for (const target of ['/health/..\\admin', '/health/..;/admin', '/health/%2e%2e;/admin', '/health/..%2fadmin', '/health/..%5cadmin', '/health%00/../admin']) {
    t.equal((await rawRequest(gw.gateway, 'GET', target)).status, 400, `except /health: ${target}`)
  }
  for (const target of ['/Health', '/health;x', '/HEALTH/live', '/health./x']) {
    t.equal((await rawRequest(gw.gateway, 'GET', target)).status, 503, `except /health matches only the exact path: ${target}`)
  }
  t.equal((await rawRequest(gw.gateway, 'GET', '/health/live')).status, 200, 'the exact path still passes')

  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { exceptPaths: [], paths: ['/admin'] })
  for (const target of ['//x/admin', '/x/..\\admin', '//admin']) {
    t.equal((await rawRequest(gw.gateway, 'GET', target)).status, 400, `scope /admin: ${target} is 400`)
  }
  for (const target of ['/admin;x', '/ADMIN', '/Admin/users', '/admin;jsessionid=1/users', '/x/../admin', '/%61dmin', '/admin./x', '/;x/admin']) {
    t.equal((await rawRequest(gw.gateway, 'GET', target)).status, 503, `scope /admin: ${target} is blocked`)
  }
  t.equal((await rawRequest(gw.gateway, 'GET', '/administrator')).status, 200, 'a longer segment is outside the scope')

  await adminCall(gw, TOKEN, 'PATCH', '/v1/maintenance', { enabled: false, paths: null })
  for (const target of ['/V2/x', '/v2;x', '/v2;x/orders', '/V2']) {
    t.equal((await rawRequest(gw.gateway, 'GET', target)).status, 404, `gate /v2: ${target} is gated`)
  }
  t.same(upstream.seen.map((s) => s.url), ['/health/live', '/administrator'], 'only the two allowed requests reached the upstream')
})

t.test('the upstream receives the normalised target, query unchanged', async (t) => {
  const upstream = await recordingUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  const sent: Array<[string, string]> = [
    ['/a/../b?x=/../y', '/b?x=/../y'],
    ['/a//b/./c', '/a/b/c'],
    ['/%68ealth', '/health'],
    ['/caf%c3%a9', '/caf%C3%A9'],
    ['http://app/x/../y?z', '/y?z'],
    ['/plain/path?q=1', '/plain/path?q=1']
  ]
  for (const [target] of sent) t.equal((await rawRequest(gw.gateway, 'GET', target)).status, 200, target)
  t.same(upstream.seen.map((s) => s.url), sent.map(([, forwarded]) => forwarded))
})
