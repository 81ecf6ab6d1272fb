import t from 'tap'
import { admin, gatewayFor, hit, namedUpstream, route, upstreamsView, waitFor } from './helpers.js'

/**
 * CONTRACT section 6: a switch (or a canary) to an upstream that fails a
 * health check made at that moment answers 409 DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY
 * and changes nothing, unless "force": true; unknown names are 400; the
 * periodic checks report health on GET /v1/upstreams after the thresholds.
 */

function health (view: Awaited<ReturnType<typeof upstreamsView>>, name: string): boolean | null | undefined {
  return view.upstreams.find((u) => u.name === name)?.healthy
}

t.test('a switch to a stopped upstream is refused, routing and traffic unchanged; force switches anyway', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await gatewayFor(t, [blue, green], { args: ['--health-interval-ms', '100', '--unhealthy-threshold', '2', '--healthy-threshold', '2'] })

  const first = await upstreamsView(gw)
  t.same(first.upstreams.map((u) => [u.name, u.url]), [['blue', blue.url], ['green', green.url]], 'both upstreams listed in order with their URLs')
  t.equal(first.routing.active, 'blue')
  t.equal(first.routing.canary, null)
  t.equal(first.routing.paused, false)
  t.ok(await waitFor(async () => health(await upstreamsView(gw), 'green') === true, 3000), 'green reported healthy by the periodic checks')
  t.ok(green.healthChecks() > 0, `health checks reached green on --health-path (${green.healthChecks()})`)
  const checkedAt = (await upstreamsView(gw)).upstreams.find((u) => u.name === 'green')?.checkedAt
  t.ok(typeof checkedAt === 'string' && !Number.isNaN(Date.parse(checkedAt)), `checkedAt is a timestamp (${String(checkedAt)})`)

  await green.stop()
  const stoppedAt = Date.now()
  // Immediately: the periodic checks have not yet seen green fail, the check made at the switch must.
  const refused = await admin(gw, 'PATCH', '/v1/routing', { active: 'green' })
  t.equal(refused.status, 409, `switch to the stopped green: ${refused.status} ${JSON.stringify(refused.body)}`)
  t.equal(refused.body.code, 'DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY')
  t.equal(refused.body.statusCode, 409, "Fastify's error shape")
  t.type(refused.body.message, 'string')
  const after = await upstreamsView(gw)
  t.equal(after.routing.active, 'blue', 'routing unchanged after the 409')
  t.equal(after.routing.updatedAt, first.routing.updatedAt, 'not even updatedAt moved')
  const traffic = await hit(gw, '/after-409')
  t.equal(traffic.status, 200)
  t.equal(traffic.upstream, 'blue', 'traffic still on blue')

  const canary = await admin(gw, 'PATCH', '/v1/routing', { canary: { upstream: 'green', percentage: 20 } })
  t.equal(canary.status, 409, `canary on the stopped green: ${canary.status}`)
  t.equal(canary.body.code, 'DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY')
  t.equal((await upstreamsView(gw)).routing.canary, null, 'no canary after the 409')

  const unknown = await admin(gw, 'PATCH', '/v1/routing', { active: 'purple' })
  t.equal(unknown.status, 400, `unknown name: ${unknown.status} ${JSON.stringify(unknown.body)}`)
  t.equal(unknown.body.code, 'DRAWBRIDGE_ERR_INVALID')
  const unknownForced = await admin(gw, 'PATCH', '/v1/routing', { active: 'purple', force: true })
  t.equal(unknownForced.status, 400, 'force does not make an unknown name valid')
  const unknownCanary = await admin(gw, 'PATCH', '/v1/routing', { canary: { upstream: 'purple', percentage: 5 } })
  t.equal(unknownCanary.status, 400, 'unknown canary upstream: 400')
  t.equal((await upstreamsView(gw)).routing.active, 'blue', 'still blue after the 400s')

  t.ok(await waitFor(async () => health(await upstreamsView(gw), 'green') === false, 3000, 10), 'green reported unhealthy after the threshold')
  t.comment(`green seen unhealthy on GET /v1/upstreams ${Date.now() - stoppedAt} ms after it stopped (interval 100 ms, threshold 2)`)
  t.equal(health(await upstreamsView(gw), 'blue'), true, 'blue still healthy')

  const forced = await admin(gw, 'PATCH', '/v1/routing', { active: 'green', force: true })
  t.equal(forced.status, 200, `force: true switches anyway (${forced.status} ${JSON.stringify(forced.body)})`)
  t.equal(forced.body.active, 'green')
  t.equal((await upstreamsView(gw)).routing.active, 'green')
  const down = await hit(gw, '/while-green-down')
  t.equal(down.status, 502, 'a request to the stopped green gets the 502 page, no hang')

  await green.restart()
  t.ok(await waitFor(async () => health(await upstreamsView(gw), 'green') === true, 3000), 'green healthy again after it restarts')
  const back = await hit(gw, '/green-back')
  t.equal(back.upstream, 'green', 'traffic on green once it is back')
  await route(gw, { active: 'blue' })
  t.equal((await hit(gw, '/blue-again')).upstream, 'blue')
})

t.test('the check made at the switch decides, not the last periodic result; a health path answering 5xx is unhealthy', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  // Periodic checks once a minute: only the check made at the switch can know green's state.
  const gw = await gatewayFor(t, [blue, green], { args: ['--health-interval-ms', '60000'] })

  green.healthStatus = 503
  const refused = await admin(gw, 'PATCH', '/v1/routing', { active: 'green' })
  t.equal(refused.status, 409, `green's health path answers 503: ${refused.status}`)
  t.equal(refused.body.code, 'DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY')
  t.equal((await hit(gw, '/x')).upstream, 'blue')

  green.healthStatus = 404
  const accepted = await admin(gw, 'PATCH', '/v1/routing', { active: 'green' })
  t.equal(accepted.status, 200, `a health path answering 404 (below 500) is healthy: ${accepted.status} ${JSON.stringify(accepted.body)}`)
  t.equal((await hit(gw, '/y')).upstream, 'green')

  await blue.stop()
  const back = await admin(gw, 'PATCH', '/v1/routing', { active: 'blue' })
  t.equal(back.status, 409, 'blue stopped a moment ago: refused without waiting for the periodic check')
  t.equal((await hit(gw, '/z')).upstream, 'green', 'traffic stays on green')
  await blue.restart()
  const now = await admin(gw, 'PATCH', '/v1/routing', { active: 'blue' })
  t.equal(now.status, 200, 'blue restarted a moment ago: accepted without waiting for the periodic checks')
  t.equal((await hit(gw, '/w')).upstream, 'blue')
})
