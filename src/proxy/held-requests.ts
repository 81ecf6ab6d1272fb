import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Rendered } from '../maintenance/page.js'
import { PauseQueue } from '../upstreams/pause-queue.js'
import { writeRendered } from './forwarder.js'
import { writeRawResponse } from './websocket.js'

/**
 * The gateway side of a pause: a request that would be proxied waits here,
 * unanswered, its body unread (Node stops reading the socket once the
 * request's buffer is full), until the pause ends or it has waited
 * pauseMaxMs. A client that leaves meanwhile is forgotten, never forwarded.
 */

/** What a held body can buffer before Node stops reading its socket: the stream's high-water mark. */
const BODY_BUFFER_BYTES = 16 * 1024

/** What holding `req` costs: its head as it arrived, plus what its body can buffer meanwhile. */
function heldBytes (req: IncomingMessage, hasBody: boolean): number {
  let bytes = (req.url?.length ?? 0) + 32
  for (const part of req.rawHeaders) bytes += part.length + 2
  return bytes + (hasBody ? BODY_BUFFER_BYTES : 0)
}

export interface HeldRequests {
  readonly size: number
  /**
   * Holds a plain request. `release` forwards it (the gateway decides it
   * again first); `answer` renders what it gets instead (expired, over a
   * bound, shutting down). Returns false when a bound was reached and it was
   * answered at once.
   */
  hold (req: IncomingMessage, res: ServerResponse, hasBody: boolean, waitMs: number, release: () => void, answer: () => Rendered): boolean
  /** The same for an upgrade, answered as bytes on its socket. */
  holdUpgrade (req: IncomingMessage, socket: Duplex, waitMs: number, release: () => void, answer: () => Rendered): boolean
  releaseAll (): void
  expireAll (): void
}

export function createHeldRequests (maxCount: number, maxBytes: number): HeldRequests {
  const queue = new PauseQueue(maxCount, maxBytes)

  function holdOn (closer: { once: (e: 'close', f: () => void) => unknown, off: (e: 'close', f: () => void) => unknown },
    bytes: number, waitMs: number, release: () => void, expire: () => void): boolean {
    let gone = false
    const onClose = (): void => { gone = true; if (ticket !== null) queue.cancel(ticket) }
    const ticket = queue.hold({
      bytes,
      release () { closer.off('close', onClose); if (!gone) release() },
      expire () { closer.off('close', onClose); if (!gone) expire() }
    }, waitMs)
    if (ticket === null) { expire(); return false }
    closer.once('close', onClose)
    return true
  }

  return {
    get size () { return queue.size },
    hold (req, res, hasBody, waitMs, release, answer) {
      return holdOn(res, heldBytes(req, hasBody), waitMs, release, () => {
        // Its body was never read: the connection cannot carry another request.
        if (!req.complete) res.shouldKeepAlive = false
        writeRendered(res, req.method, answer())
      })
    },
    holdUpgrade (req, socket, waitMs, release, answer) {
      return holdOn(socket, heldBytes(req, false), waitMs, release, () => { writeRawResponse(socket, req.method, answer()) })
    },
    releaseAll () { queue.releaseAll() },
    expireAll () { queue.expireAll() }
  }
}
