import type { FastifyReply, FastifyRequest } from 'fastify'

/** How long a client gets to read an early answer before its connection is cut. */
const LINGER_MS = 1000

/**
 * An error answered before the request body was read (a 401 from the auth
 * hook, a 404 for an unknown route) must not let the client keep the
 * connection by dripping the body: Node would read and discard it for as long
 * as the client sends. Answer with `Connection: close`, half-close once the
 * answer is written, and destroy the socket shortly after, whatever the client
 * is still sending.
 */
export function closeIfBodyUnread (request: FastifyRequest, reply: FastifyReply): void {
  const req = request.raw
  if (req.complete || !hasBody(req.headers)) return
  void reply.header('connection', 'close')
  reply.raw.once('finish', () => {
    const socket = req.socket
    socket.end()
    setTimeout(() => { socket.destroy() }, LINGER_MS).unref()
  })
}

function hasBody (headers: FastifyRequest['headers']): boolean {
  if (headers['transfer-encoding'] !== undefined) return true
  const length = headers['content-length']
  return length !== undefined && length !== '0'
}
