import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { request } from 'undici'
import { spawnGateway } from '../helpers/spawn-gateway.js'

/** An upstream whose /slow answers after `delayMs`, telling the test when a request has arrived. */
async function slowUpstream (t: Test, delayMs: number): Promise<{ url: string, arrived: Promise<void> }> {
  let onArrive = (): void => {}
  const arrived = new Promise<void>((resolve) => { onArrive = resolve })
  const timers = new Set<NodeJS.Timeout>()
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url !== '/slow') {
      res.end('fast')
      return
    }
    onArrive()
    const timer = setTimeout(() => { res.end('slow done') }, delayMs)
    timers.add(timer)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const timer of timers) clearTimeout(timer)
    server.closeAllConnections()
    server.close()
  })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, arrived }
}

t.test('SIGTERM while a slow request is in flight: it completes, then the process exits 0', async (t) => {
  const upstream = await slowUpstream(t, 1000)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--drain-timeout-ms', '10000'])
  const inFlight = request(`http://${gw.gateway}/slow`).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }))
  await upstream.arrived
  const exitCode = gw.stop('SIGTERM')

  const res = await inFlight
  t.same(res, { status: 200, body: 'slow done' }, 'the in-flight request got its whole answer')
  t.equal(await exitCode, 0)
  t.match(gw.logs(), /"msg":"drawbridge stopped"/)
  await t.rejects(request(`http://${gw.gateway}/`), 'nothing listens any more')
})

t.test('the drain is bounded: a request that never ends does not keep the process alive', async (t) => {
  const upstream = await slowUpstream(t, 60_000)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--drain-timeout-ms', '300'])
  const inFlight = request(`http://${gw.gateway}/slow`).then(async (res) => await res.body.text()).catch((err: Error) => err)
  await upstream.arrived
  const started = Date.now()
  t.equal(await gw.stop('SIGINT'), 0, 'SIGINT drains the same way')
  t.ok(Date.now() - started < 8000, `exited within the drain bound (${Date.now() - started} ms)`)
  await inFlight
})
