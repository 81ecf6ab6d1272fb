// The application every contender proxies to: a small fixed body, and /big?bytes=N
// streamed from one reused chunk so the upstream itself costs no memory.
import { createServer } from 'node:http'

const body = Buffer.from('hello from the upstream\n')
const chunk = Buffer.alloc(64 * 1024, 120)

const server = createServer((req, res) => {
  if (req.url.startsWith('/big')) {
    let left = Number(new URL(req.url, 'http://x').searchParams.get('bytes') ?? chunk.length)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(left) })
    const pump = () => {
      while (left > 0) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left)
        left -= piece.length
        if (!res.write(piece)) { res.once('drain', pump); return }
      }
      res.end()
    }
    pump()
    return
  }
  req.resume()
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length })
  res.end(body)
})
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ ready: true, address: `127.0.0.1:${server.address().port}` }) + '\n')
})
