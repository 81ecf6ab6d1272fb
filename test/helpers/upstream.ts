import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => void

/** Default: answers JSON `{ method, url, headers, body }` (body as text, read fully). */
export const echoHandler: UpstreamHandler = (req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (chunk: Buffer) => chunks.push(chunk))
  req.on('end', () => {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
}

/** A real upstream HTTP server on 127.0.0.1, port 0, closed (connections included) at teardown. */
export async function startUpstream (t: Test, handler: UpstreamHandler = echoHandler): Promise<{ url: string, port: number, server: Server }> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  })
  return { url: `http://127.0.0.1:${port}`, port, server }
}
