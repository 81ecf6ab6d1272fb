import { text as readText } from 'node:stream/consumers'
import { exchange } from './http-exchange.js'
import { CliFailure, UsageError } from './output.js'

/**
 * The CLI's client of the admin API. Where to connect, in order: the option,
 * DRAWBRIDGE_ADMIN_URL, http:// + DRAWBRIDGE_ADMIN_LISTEN (the address the
 * server on this machine was told to use), then the default admin address.
 */

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9090'

export interface AdminResponse<T> {
  status: number
  headers: Record<string, string>
  body: T
}

export interface AdminClient {
  readonly url: string
  request<T = unknown> (method: string, path: string, body?: unknown): Promise<AdminResponse<T>>
}

/** Errors that mean "nothing answered", as opposed to an answer that says no. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT'])

/** A wildcard bind address is not somewhere to connect to; its loopback is. */
function connectable (listen: string): string {
  return listen.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:')
}

export function resolveAdminUrl (url: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const nonEmpty = (v: string | undefined): string | undefined => v === undefined || v === '' ? undefined : v
  const listen = nonEmpty(env.DRAWBRIDGE_ADMIN_LISTEN)
  const chosen = nonEmpty(url) ?? nonEmpty(env.DRAWBRIDGE_ADMIN_URL) ?? (listen !== undefined ? `http://${connectable(listen)}` : DEFAULT_ADMIN_URL)
  let parsed: URL
  try {
    parsed = new URL(chosen)
  } catch {
    throw new UsageError(`admin URL "${chosen}" is not a URL (expected e.g. ${DEFAULT_ADMIN_URL})`)
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`admin URL "${chosen}" must be http or https`)
  return chosen.replace(/\/+$/, '')
}

export function createAdminClient (opts: { url?: string | undefined, token?: string | undefined } = {}): AdminClient {
  const url = resolveAdminUrl(opts.url)
  const token = opts.token ?? (process.env.DRAWBRIDGE_ADMIN_TOKEN === '' ? undefined : process.env.DRAWBRIDGE_ADMIN_TOKEN)
  return {
    url,
    async request<T> (method: string, path: string, body?: unknown): Promise<AdminResponse<T>> {
      const headers: Record<string, string> = { accept: 'application/json' }
      if (token !== undefined) headers.authorization = `Bearer ${token}`
      if (body !== undefined) headers['content-type'] = 'application/json'
      let res
      try {
        res = await exchange(url + path, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          headersTimeoutMs: 60_000,
          bodyTimeoutMs: 60_000
        })
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? ''
        if (UNREACHABLE.has(code)) {
          throw new CliFailure(`cannot reach the admin API at ${url} (${code}); is "drawbridge serve" running there? Set DRAWBRIDGE_ADMIN_URL or --admin-url`)
        }
        throw err
      }
      const text = await readText(res)
      const responseHeaders: Record<string, string> = {}
      for (const [name, value] of Object.entries(res.headers)) {
        if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value
      }
      let parsed: unknown = text
      if ((responseHeaders['content-type'] ?? '').includes('json') && text !== '') {
        try { parsed = JSON.parse(text) } catch {}
      }
      return { status: res.statusCode ?? 0, headers: responseHeaders, body: parsed as T }
    }
  }
}
