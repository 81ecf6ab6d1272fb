import type { ServerResponse } from 'node:http'
import { openEventStream } from '../http/sse.js'
import type { MigrationService } from './migration-service.js'
import type { RunEvent } from './run-recorder.js'
import { isTerminal, type RunRecord } from './run-types.js'

/** How often a run executing on another replica is re-read from the runs table. */
const POLL_MS = 500

function payload (event: RunEvent): unknown {
  return event.type === 'log'
    ? event.line
    : event.type === 'step' ? { index: event.index, step: event.step } : event.type === 'status' ? { status: event.status } : event.run
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
  const stream = openEventStream(res)
  const send = (event: RunEvent): void => {
    stream.send(event.type, payload(event))
    if (event.type === 'end') stream.end()
  }

  // Subscribing and replaying in the same tick: no change can fall in between.
  const watched = service.watch(run.id, send)
  if (watched !== null) {
    for (const event of replay(watched.run)) send(event)
    stream.onClose(watched.unsubscribe)
    return
  }

  for (const event of replay(run)) send(event)
  let last = run
  const open = (): boolean => !stream.closed
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
