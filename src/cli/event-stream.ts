import { request } from 'undici'
import { CliFailure } from './output.js'

export interface StreamEvent { event: string, data: unknown }

/** Reads a server-sent events stream, calling `onEvent` per event; resolves when it closes. */
export async function followEvents (url: string, token: string | undefined, onEvent: (e: StreamEvent) => void): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream' }
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const res = await request(url, { method: 'GET', headers, headersTimeout: 60_000, bodyTimeout: 0, reset: true })
  if (res.statusCode !== 200) {
    await res.body.dump()
    throw new CliFailure(`cannot follow its progress (HTTP ${res.statusCode})`)
  }
  let buffer = ''
  for await (const chunk of res.body) {
    buffer += (chunk as Buffer).toString('utf8')
    let cut = buffer.indexOf('\n\n')
    while (cut >= 0) {
      const block = buffer.slice(0, cut)
      buffer = buffer.slice(cut + 2)
      cut = buffer.indexOf('\n\n')
      let event = 'message'
      let data = ''
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data += line.slice(5).trim()
      }
      if (data !== '') onEvent({ event, data: JSON.parse(data) })
    }
  }
}
