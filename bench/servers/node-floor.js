// Node's floor: a featureless node:http server forwarding every request through
// one undici Pool, streaming both ways. No checks, no header rewriting beyond
// what HTTP requires: what Node itself can do as a proxy on this machine.
import { createServer } from 'node:http'
import { Pool } from 'undici'

const pool = new Pool(process.argv[2], { connections: 128, pipelining: 1, keepAliveTimeout: 4000 })
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host'])
// FLOOR_EXTRA_HEADERS (a JSON list of [name, value]): headers added to every upstream request, so
// bench/pair.js can tell the cost of what Drawbridge sends upstream from the cost of deciding it.
const extra = JSON.parse(process.env.FLOOR_EXTRA_HEADERS ?? '[]').flat()

const server = createServer((req, res) => {
  const headers = []
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) headers.push(raw[i], raw[i + 1])
  for (let i = 0; i < extra.length; i++) headers.push(extra[i])
  const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined
  pool.request({ path: req.url, method: req.method, headers, body: hasBody ? req : null }).then((up) => {
    const out = {}
    for (const [k, v] of Object.entries(up.headers)) if (!HOP.has(k)) out[k] = v
    res.writeHead(up.statusCode, out)
    up.body.pipe(res)
  }, () => { res.writeHead(502); res.end() })
})
server.keepAliveTimeout = 72_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ ready: true, address: `127.0.0.1:${server.address().port}` }) + '\n')
})
// Stopped with SIGTERM by bench/pair.js: exit normally so a --cpu-prof is written.
process.on('SIGTERM', () => { server.close(); pool.close().finally(() => process.exit(0)) })
