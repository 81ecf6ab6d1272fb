import { exchange } from './http-exchange.js'
import { createAdminClient, resolveAdminUrl } from './admin-client.js'
import { stringOption, type ParsedArgs } from './args.js'
import { CliFailure, printLine, reportApiError } from './output.js'

export interface StreamEvent { event: string, data: unknown }

/** Reads a server-sent events stream, calling `onEvent` per event; resolves when it closes. */
export async function followEvents (url: string, token: string | undefined, onEvent: (e: StreamEvent) => void): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream' }
  if (token !== undefined) headers.authorization = `Bearer ${token}`
  const res = await exchange(url, { method: 'GET', headers, headersTimeoutMs: 60_000, bodyTimeoutMs: 0 })
  if (res.statusCode !== 200) {
    res.resume()
    throw new CliFailure(`cannot follow its progress (HTTP ${res.statusCode})`)
  }
  let buffer = ''
  for await (const chunk of res) {
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

interface LogLine { at: string, level: 'info' | 'warn' | 'error', msg: string }

function logLine (line: LogLine): string {
  return `${line.at.slice(11, 23)}  ${line.level === 'info' ? '' : `${line.level.toUpperCase()} `}${line.msg}`
}

export interface FollowedJob {
  /** `/v1/migrations/runs` or `/v1/migrations/rehearsals`: POST starts one, `/:id` reads it, `/:id/events` follows it. */
  collection: string
  body: Record<string, unknown>
  /** Printed once it started (not with --json). */
  started: (id: string) => string
  isDone: (status: string) => boolean
}

/**
 * Starts a background job of the admin API (a run, a rehearsal) and waits for
 * its end, printing its log lines live (not with --json). When the event
 * stream breaks (gateway restarted, a proxy's timeout), it polls instead.
 * Resolves with the final record, or with the exit code of an API error
 * (already reported).
 */
export async function startAndFollow<T extends { status: string }> (parsed: ParsedArgs, json: boolean, job: FollowedJob): Promise<T | number> {
  const token = stringOption(parsed, 'admin-token') ?? (process.env.DRAWBRIDGE_ADMIN_TOKEN === '' ? undefined : process.env.DRAWBRIDGE_ADMIN_TOKEN)
  const client = createAdminClient({ url: stringOption(parsed, 'admin-url'), token })
  const started = await client.request<{ id: string }>('POST', job.collection, job.body)
  if (started.status !== 202) return reportApiError(started.status, started.body, json)
  const id = started.body.id
  if (!json) printLine(job.started(id))

  let final: T | null = null
  try {
    await followEvents(`${resolveAdminUrl(stringOption(parsed, 'admin-url'))}${job.collection}/${id}/events`, token, (e) => {
      if (e.event === 'end') final = e.data as T
      else if (e.event === 'log' && !json) printLine(logLine(e.data as LogLine))
    })
  } catch (err) {
    if (!json) printLine(`(lost the progress stream: ${(err as Error).message}; polling)`)
  }
  while (final === null) {
    const res = await client.request<T>('GET', `${job.collection}/${id}`)
    if (res.status !== 200) return reportApiError(res.status, res.body, json)
    if (job.isDone(res.body.status)) final = res.body
    else await new Promise((resolve) => setTimeout(resolve, 1000))
  }
  return final
}
