/**
 * The admin API as the console calls it: the same routes and bodies as the
 * CLI, authenticated by the session cookie (sent by the browser, unreadable
 * here), with the session's CSRF token on every change. Paths are relative to
 * the console's page (/ui/), so the console also works under a path prefix.
 */

export class ApiError extends Error {
  constructor (readonly status: number, readonly code: string, message: string) {
    super(message)
    this.name = 'ApiError'
  }
}

let csrfToken: string | null = null
/** Set on sign-in (and on reload, from GET /ui/session). */
export function setCsrfToken (token: string | null): void { csrfToken = token }

type Listener = () => void
const signedOutListeners = new Set<Listener>()
/** Called when the API says the session is gone (expired, signed out elsewhere, token rotated). */
export function onSignedOut (listener: Listener): () => void {
  signedOutListeners.add(listener)
  return () => { signedOutListeners.delete(listener) }
}

/** Where `path` (e.g. `v1/maintenance`, `ui/session`) is, seen from the console page. */
export function apiUrl (path: string): string {
  return new URL(`../${path}`, document.baseURI).toString()
}

export interface ApiResponse<T> {
  status: number
  etag: string | null
  /** null for 204 and 304. */
  data: T | null
}

export interface ApiOptions {
  body?: unknown
  ifMatch?: string | null
  ifNoneMatch?: string | null
  /** A 401 here is an answer, not the end of the session (the sign-in form). */
  signIn?: boolean
}

const TIMEOUT_MS = 30_000

export async function call<T> (method: string, path: string, options: ApiOptions = {}): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { accept: 'application/json' }
  if (options.body !== undefined) headers['content-type'] = 'application/json'
  if (method !== 'GET' && method !== 'HEAD' && csrfToken !== null) headers['x-drawbridge-csrf'] = csrfToken
  if (options.ifMatch != null) headers['if-match'] = options.ifMatch
  if (options.ifNoneMatch != null) headers['if-none-match'] = options.ifNoneMatch
  let res: Response
  try {
    res = await fetch(apiUrl(path), {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      signal: AbortSignal.timeout(TIMEOUT_MS),
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) })
    })
  } catch (err) {
    throw new ApiError(0, 'NETWORK', `The admin port did not answer (${(err as Error).message})`)
  }
  const etag = res.headers.get('etag')
  if (res.status === 204 || res.status === 304) return { status: res.status, etag, data: null }
  const text = await res.text()
  let json: unknown = null
  try {
    json = text === '' ? null : JSON.parse(text)
  } catch {
    json = null
  }
  if (!res.ok) {
    const body = (json ?? {}) as { code?: string, message?: string }
    if (res.status === 401 && options.signIn !== true) for (const listener of signedOutListeners) listener()
    throw new ApiError(res.status, body.code ?? `HTTP_${res.status}`, body.message ?? (text.slice(0, 200) || res.statusText))
  }
  return { status: res.status, etag, data: json as T }
}

export async function get<T> (path: string, options: ApiOptions = {}): Promise<T> {
  return (await call<T>('GET', path, options)).data as T
}

/** A message for the operator from whatever went wrong. */
export function problem (err: unknown): string {
  if (err instanceof ApiError) return err.message
  return err instanceof Error ? err.message : String(err)
}
