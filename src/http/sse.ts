import type { ServerResponse } from 'node:http'

/** A comment line this often keeps proxies and load balancers from cutting an idle stream. */
const KEEPALIVE_MS = 15_000

/** One server-sent events response: named events with JSON data, then the end. */
export interface EventStream {
  send (event: string, data: unknown): void
  /** Ends the response (idempotent). */
  end (): void
  /** The client went away, or end() was called. */
  readonly closed: boolean
  /** Called once when the client goes away (not after end()). */
  onClose (listener: () => void): void
}

/**
 * Starts a `text/event-stream` response on a raw (hijacked) Node response:
 * the migration runs' and rehearsals' progress streams are written through
 * this one place, so both answer with the same headers and framing.
 */
export function openEventStream (res: ServerResponse, keepaliveMs = KEEPALIVE_MS): EventStream {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // Proxies (nginx) must not buffer a stream the operator is watching.
    'x-accel-buffering': 'no'
  })
  let closed = false
  const keepalive = setInterval(() => { res.write(': keepalive\n\n') }, keepaliveMs)
  keepalive.unref()
  res.on('close', () => { closed = true; clearInterval(keepalive) })
  return {
    get closed () { return closed },
    send (event, data) {
      if (closed) return
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    },
    end () {
      if (closed) return
      closed = true
      clearInterval(keepalive)
      res.end()
    },
    onClose (listener) {
      res.on('close', listener)
    }
  }
}
