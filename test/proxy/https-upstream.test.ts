import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import WebSocket, { WebSocketServer } from 'ws'
import { echoHandler } from '../helpers/upstream.js'
import { runDrawbridge, spawnGateway } from '../helpers/spawn-gateway.js'

// A legacy app behind a self-signed certificate: trusted only through --upstream-ca-file.
const dir = mkdtempSync(join(tmpdir(), 'drawbridge-tls-'))
const keyFile = join(dir, 'key.pem')
const certFile = join(dir, 'cert.pem')
execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
  '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' })

t.test('an https upstream with a self-signed certificate', async (t) => {
  const server = createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, echoHandler)
  const wss = new WebSocketServer({ server })
  wss.on('connection', (socket) => { socket.on('message', (data) => { socket.send(`echo:${String(data)}`) }) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { wss.close(); server.closeAllConnections(); server.close() })
  const upstream = `https://localhost:${(server.address() as AddressInfo).port}`

  const untrusted = await spawnGateway(t, ['--upstream', upstream])
  const refused = await request(`http://${untrusted.gateway}/x`, { headers: { accept: 'application/json' } })
  t.equal(refused.statusCode, 502, 'an untrusted certificate is a bad gateway, not a crash')
  t.match(await refused.body.json(), { error: 'bad_gateway' })

  const gw = await spawnGateway(t, ['--upstream', upstream, '--upstream-ca-file', certFile])
  const res = await request(`http://${gw.gateway}/orders?id=7`)
  t.equal(res.statusCode, 200)
  const echoed = await res.body.json() as { url: string, headers: Record<string, string> }
  t.equal(echoed.url, '/orders?id=7')
  t.equal(echoed.headers.host, new URL(upstream).host, 'Host is the upstream\'s, for its virtual host and certificate')

  const ws = new WebSocket(`ws://${gw.gateway}/socket`)
  t.teardown(() => { ws.terminate() })
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  ws.send('over tls')
  const reply = await new Promise<string>((resolve) => { ws.once('message', (data) => { resolve(String(data)) }) })
  t.equal(reply, 'echo:over tls', 'WebSocket tunnelled to a wss upstream')
})

t.test('an unreadable or non-PEM CA file stops serve with exit 2 naming the setting', async (t) => {
  const notPem = join(dir, 'not.pem')
  writeFileSync(notPem, 'hello')
  for (const file of [join(dir, 'missing.pem'), notPem]) {
    const result = await runDrawbridge(['serve', '--upstream', 'https://localhost:1', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--upstream-ca-file', file])
    t.equal(result.code, 2, file)
    t.match(result.stderr, /upstreamCaFile/)
  }
})
