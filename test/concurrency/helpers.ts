import { request } from 'undici'

export const TOKEN = 'concurrency-test-admin-token-0123'

export interface Answer {
  status: number
  etag: string | undefined
  body: Record<string, unknown>
}

/** One admin call; `headers` adds If-Match and the like. */
export async function call (admin: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(`http://${admin}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.body.text()
  const etag = res.headers.etag
  return { status: res.statusCode, etag: typeof etag === 'string' ? etag : undefined, body: text === '' ? {} : JSON.parse(text) as Record<string, unknown> }
}

/**
 * The read-modify-write a script would do: GET, append one CIDR, PATCH with
 * If-Match; on 412 read again and retry. Returns the number of 412s it met.
 */
export async function appendWithIfMatch (admins: string[], index: number, cidr: string): Promise<number> {
  let conflicts = 0
  for (let attempt = 0; attempt < 500; attempt++) {
    const admin = admins[(index + attempt) % admins.length] as string
    const read = await call(admin, 'GET', '/v1/maintenance')
    if (read.etag === undefined) throw new Error('GET /v1/maintenance sent no ETag')
    const allow = [...(read.body.allow as string[]), cidr]
    const write = await call(admin, 'PATCH', '/v1/maintenance', { allow }, { 'if-match': read.etag })
    if (write.status === 200) return conflicts
    if (write.status !== 412) throw new Error(`PATCH answered ${write.status}: ${JSON.stringify(write.body)}`)
    conflicts++
  }
  throw new Error(`${cidr}: no success after 500 attempts`)
}

/** The same without If-Match: the old behaviour (last writer wins). */
export async function appendBlindly (admin: string, cidr: string): Promise<number> {
  const read = await call(admin, 'GET', '/v1/maintenance')
  const write = await call(admin, 'PATCH', '/v1/maintenance', { allow: [...(read.body.allow as string[]), cidr] })
  return write.status
}

export const cidrs = (n: number, prefix = '10'): string[] => Array.from({ length: n }, (_, i) => `${prefix}.${i + 1}.0.0/16`)
