import { Agent, request as httpRequest } from 'node:http'
import t from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { fetchText, startGateway } from './helpers.js'

function slowUpstream (delayMs: number): Parameters<typeof startUpstream>[1] {
  return (_req, res) => { setTimeout(() => { if (!res.destroyed) res.end('done') }, delayMs).unref() }
}

t.test('close lets in-flight requests finish, then resolves without waiting out drainMs', async (t) => {
  const upstream = await startUpstream(t, slowUpstream(300))
  const gw = await startGateway(t, upstream.url)
  const agent = new Agent({ keepAlive: true })
  t.teardown(() => { agent.destroy() })
  const inflight = new Promise<string>((resolve, reject) => {
    httpRequest(`${gw.url}/slow`, { agent }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve(`${String(res.statusCode)} ${body} ${String(res.headers.connection)}`) })
    }).on('error', reject).end()
  })
  await new Promise((resolve) => setTimeout(resolve, 100))
  const started = Date.now()
  await gw.gateway.close(5000)
  const took = Date.now() - started
  t.equal(await inflight, '200 done keep-alive', 'the in-flight request completed')
  t.ok(took < 2000, `close took ${took} ms (in-flight work, not the whole drain period)`)
  await t.rejects(fetchText(`${gw.url}/`), 'no longer accepting')
})

t.test('requests still running after drainMs are cut; close never hangs', async (t) => {
  const upstream = await startUpstream(t, slowUpstream(10_000))
  const gw = await startGateway(t, upstream.url)
  const inflight = fetchText(`${gw.url}/stuck`).then(() => 'answered', () => 'cut')
  await new Promise((resolve) => setTimeout(resolve, 100))
  const started = Date.now()
  await gw.gateway.close(200)
  const took = Date.now() - started
  t.equal(await inflight, 'cut')
  t.ok(took >= 190 && took < 3000, `close took ${took} ms`)
})
