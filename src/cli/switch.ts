import { setTimeout as sleep } from 'node:timers/promises'
import type { AdminClient } from './admin-client.js'
import { createAdminClient } from './admin-client.js'
import { printJson, printLine, reportApiError } from './output.js'
import { parseRoutingCommand, UPSTREAMS_HELP } from './upstreams-input.js'
import { currentView, reportRoutingError, type RoutingView, type UpstreamsView } from './upstreams.js'

/**
 * `drawbridge switch NAME`: the blue-green switch. New requests go to NAME
 * from the PATCH on; requests already in flight finish on the upstream they
 * started on, so the command then watches the previous upstream's in-flight
 * count (GET /v1/upstreams every POLL_MS) until it is 0 or --drain-timeout
 * passes, and says which: that is when the old version may be stopped.
 */

const POLL_MS = 100

export interface DrainResult {
  drained: boolean
  drainMs: number
  /** In flight on the previous upstream at the last look. */
  inFlight: number
}

/** Polls until `name` has nothing in flight or `timeoutMs` passes; a look the API refuses ends it with that answer. */
export async function waitForDrain (client: AdminClient, name: string, timeoutMs: number): Promise<DrainResult | { status: number, body: unknown }> {
  const started = performance.now()
  for (;;) {
    const res = await client.request<UpstreamsView>('GET', '/v1/upstreams')
    if (res.status !== 200) return { status: res.status, body: res.body }
    const elapsed = performance.now() - started
    // An upstream that is no longer listed has nothing in flight through this gateway.
    const inFlight = res.body.upstreams.find((u) => u.name === name)?.inFlight ?? 0
    if (inFlight === 0) return { drained: true, drainMs: Math.round(elapsed), inFlight }
    if (elapsed >= timeoutMs) return { drained: false, drainMs: Math.round(elapsed), inFlight }
    await sleep(Math.min(POLL_MS, Math.max(0, timeoutMs - elapsed)))
  }
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

export function describeSwitch (active: string, previous: string, drain: DrainResult, timeoutMs: number): string {
  const head = `switched to ${active} (was ${previous}); `
  if (drain.drained) return `${head}${previous} drained in ${seconds(drain.drainMs)}`
  const requests = drain.inFlight === 1 ? '1 request' : `${drain.inFlight} requests`
  return `${head}${previous} still has ${requests} in flight after ${seconds(timeoutMs)} (they finish there; long downloads and open WebSockets stay too)`
}

export async function run (args: string[]): Promise<number> {
  const call = parseRoutingCommand('switch', args)
  if (call.help) {
    process.stdout.write(UPSTREAMS_HELP)
    return 0
  }
  const client = createAdminClient({ url: call.adminUrl, token: call.adminToken })
  const target = call.patch?.active as string
  const before = await currentView(client, call.json)
  if (typeof before === 'number') return before
  const previous = before.routing.active
  if (previous === target) {
    if (call.json) printJson({ routing: before.routing, previous, changed: false, drained: true, drainMs: 0 })
    else printLine(`${target} is already active; nothing to switch`)
    return 0
  }
  const res = await client.request<RoutingView>('PATCH', '/v1/routing', call.patch)
  if (res.status !== 200) return reportRoutingError(res.status, res.body, call.json)
  const drain = await waitForDrain(client, previous, call.drainTimeoutMs)
  if (!('drained' in drain)) {
    if (!call.json) printLine(`switched to ${res.body.active} (was ${previous}); could not watch ${previous} drain:`)
    return reportApiError(drain.status, drain.body, call.json)
  }
  if (call.json) printJson({ routing: res.body, previous, changed: true, drained: drain.drained, drainMs: drain.drainMs, inFlight: drain.inFlight })
  else printLine(describeSwitch(res.body.active, previous, drain, call.drainTimeoutMs))
  return 0
}
