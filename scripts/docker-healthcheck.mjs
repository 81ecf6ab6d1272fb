// Docker HEALTHCHECK: GET /healthz on the admin port, exit 0 on 200, else 1.
// Plain ESM with no dependencies, so it runs with `node` alone in the image.
import { get } from 'node:http'

const listen = process.env.DRAWBRIDGE_ADMIN_LISTEN || '127.0.0.1:9090'
const colon = listen.lastIndexOf(':')
let host = listen.slice(0, colon).replace(/^\[|\]$/g, '')
const port = Number(listen.slice(colon + 1))
// A wildcard bind is reached on loopback.
if (host === '0.0.0.0' || host === '') host = '127.0.0.1'
if (host === '::') host = '::1'

const req = get({ host, port, path: '/healthz', timeout: 2500 }, (res) => {
  res.resume()
  process.exitCode = res.statusCode === 200 ? 0 : 1
})
req.on('timeout', () => { req.destroy(new Error('timeout')) })
req.on('error', (err) => {
  console.error(`healthcheck: ${err.message}`)
  process.exitCode = 1
})
