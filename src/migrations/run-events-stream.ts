import type { ServerResponse } from 'node:http'
import type { MigrationService } from './migration-service.js'
import type { RunEvent } from './run-recorder.js'
import { isTerminal, type RunRecord } from './run-types.js'

const KEEPALIVE_MS = 15_000
/** How often a run executing on another replica is re-read from the runs table. */
const POLL_MS = 500

function frame (event: RunEvent): string {
  const data = event.type === 'log'
    ? event.line
    : event.type === 'step' ? { index: event.index, step: event.step } : event.type === 'status' ? { status: event.status } : event.run
  return `event: ${event.type}\ndata: ${JSON.stringify(data)}\n\n`
}

/** What a late subscriber missed, as the same events a live one received. */
function replay (run: RunRecord): RunEvent[] {
  return [
    { type: 'status', status: run.status },
    ...run.steps.map((step, index): RunEvent => ({ type: 'step', index, step })),
    ...run.log.map((line): RunEvent => ({ type: 'log', line }))
  ]
}

/**
 * Server-sent events for one run: first everything so far (status, steps, log
 * lines), then each change as it happens, then `end` carrying the whole run,
 * then the stream closes. A run executing in this process is followed live;
 * one executing on another replica is followed by polling its row.
 */
export async function streamRunEvents (service: MigrationService, run: RunRecord, res: ServerResponse): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    // Proxies (nginx) must not buffer a stream the operator is watching.
    'x-accel-buffering': 'no'
  })
  let closed = false
  const keepalive = setInterval(() => { res.write(': keepalive\n\n') }, KEEPALIVE_MS)
  keepalive.unref()
  const done = (): void => {
    if (closed) return
    closed = true
    clearInterval(keepalive)
    res.end()
  }
  res.on('close', () => { closed = true; clearInterval(keepalive) })
  const send = (event: RunEvent): void => {
    if (closed) return
    res.write(frame(event))
    if (event.type === 'end') done()
  }

  // Subscribing and replaying in the same tick: no change can fall in between.
  const watched = service.watch(run.id, send)
  if (watched !== null) {
    for (const event of replay(watched.run)) send(event)
    res.on('close', watched.unsubscribe)
    return
  }

  for (const event of replay(run)) send(event)
  let last = run
  const open = (): boolean => !closed
  while (open() && !isTerminal(last.status)) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
    if (!open()) break
    const next = await service.getRun(run.id).catch(() => null)
    if (next === null) continue
    if (next.status !== last.status) send({ type: 'status', status: next.status })
    next.steps.forEach((step, index) => {
      if (JSON.stringify(step) !== JSON.stringify(last.steps[index])) send({ type: 'step', index, step })
    })
    for (const line of next.log.slice(last.log.length)) send({ type: 'log', line })
    last = next
  }
  send({ type: 'end', run: last })
}
