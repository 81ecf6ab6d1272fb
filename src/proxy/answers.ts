import { STATUS_CODES } from 'node:http'
import { bypassSetCookie } from '../maintenance/bypass-cookie.js'
import type { Rendered } from '../maintenance/page.js'

/** The gateway's own short answers (the maintenance page itself is rendered by maintenance/compile.ts). */

const EMPTY = Buffer.alloc(0)

/** 302 to `/` setting the bypass cookie: the answer to the secret bypass URL. */
export function bypassAnswer (cookieValue: string, ttlSeconds: number, https: boolean): Rendered {
  return {
    status: 302,
    headers: ['location', '/', 'set-cookie', bypassSetCookie(cookieValue, ttlSeconds, https), 'cache-control', 'no-store', 'content-length', '0'],
    body: EMPTY
  }
}

export function redirectAnswer (location: string): Rendered {
  return { status: 307, headers: ['location', location, 'cache-control', 'no-store', 'content-length', '0'], body: EMPTY }
}

/**
 * A bare status answer (400 for a refused target, a flag gate's status), in
 * JSON or text as the client prefers. It depends only on those two, so each is
 * built once and reused.
 */
export function createStatusAnswers (): (status: number, json: boolean) => Rendered {
  const built = new Map<number, Rendered>()
  return (status, json) => {
    const key = json ? -status : status
    let answer = built.get(key)
    if (answer === undefined) {
      const text = STATUS_CODES[status] ?? 'Error'
      const body = Buffer.from(json ? JSON.stringify({ statusCode: status, error: text }) : text)
      answer = {
        status,
        headers: ['content-type', json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8', 'content-length', String(body.length), 'cache-control', 'no-store'],
        body
      }
      built.set(key, answer)
    }
    return answer
  }
}
