import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'

/**
 * One HTTP exchange for the CLI, on node:http. A CLI run makes one or two
 * calls; loading undici cost each run about 110 ms of CPU before the first
 * byte (`drawbridge maintenance status`: 0.29 s against 0.18 s), while
 * node:http is already in Node's start-up snapshot. The gateway keeps undici
 * for the request path, where its pool and parser pay for themselves.
 */

export interface ExchangeOptions {
  method: string
  headers: Record<string, string>
  body?: string | undefined
  /** The server must start its answer within this long (and, while reading, send something at least this often; 0: the body may pause forever, e.g. an event stream). */
  headersTimeoutMs: number
  bodyTimeoutMs: number
}

/** A timeout, with the code the callers treat as "nothing answered". */
function timedOut (what: string, ms: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`no ${what} within ${ms} ms`), { code: 'ETIMEDOUT' })
}

/** Sends the request on a socket of its own (closed after, so nothing keeps the process alive) and resolves with the response once its headers arrive. */
export function exchange (url: string, opts: ExchangeOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest
    const headers = opts.body === undefined ? opts.headers : { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) }
    const req = send(url, { method: opts.method, headers, agent: false })
    const noAnswer = (): void => { req.destroy(timedOut('answer', opts.headersTimeoutMs)) }
    req.setTimeout(opts.headersTimeoutMs, noAnswer)
    req.on('error', reject)
    req.once('response', (res) => {
      req.removeListener('timeout', noAnswer)
      req.setTimeout(opts.bodyTimeoutMs, () => res.destroy(timedOut('data', opts.bodyTimeoutMs)))
      resolve(res)
    })
    req.end(opts.body)
  })
}
