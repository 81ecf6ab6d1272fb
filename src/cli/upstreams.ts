import type { UpstreamStatus } from '../context.js'
import type { RoutingView } from '../upstreams/routing-service.js'
import { createAdminClient, type AdminClient } from './admin-client.js'
import { formatDuration } from './maintenance-window.js'
import { columns, printJson, printLine, relativeTime, reportApiError } from './output.js'
import { parseRoutingCommand, UPSTREAMS_HELP, type RoutingCall, type RoutingCommand } from './upstreams-input.js'

/**
 * `drawbridge upstreams`, `canary`, `pause` and `resume` (CONTRACT section 6),
 * clients of `GET /v1/upstreams` and `PATCH /v1/routing`. `switch` is in
 * switch.ts: it also watches the old upstream drain.
 */

// The API's shapes, as the server declares them (types only: nothing of the server runs in the CLI).
export type { RoutingView } from '../upstreams/routing-service.js'
export type { UpstreamStatus } from '../context.js'

export interface UpstreamsView {
  upstreams: UpstreamStatus[]
  routing: RoutingView
  /** Requests held by a pause in the process that answered. */
  held?: number
  /** Why the stored routing is not followed as written (replicas configured differently), else null. */
  problem?: string | null
}

/** A routing change the server refused: its message, and for an unhealthy target what --force does. */
export function reportRoutingError (status: number, body: unknown, json: boolean): number {
  const code = body !== null && typeof body === 'object' ? (body as { code?: unknown }).code : undefined
  const hint = code === 'DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY' ? 'add --force to route to it anyway' : undefined
  return reportApiError(status, body, json, hint)
}

function health (u: UpstreamStatus, now: number): string {
  const state = u.healthy === null ? 'unknown' : u.healthy ? 'healthy' : 'unhealthy'
  return u.checkedAt === null ? state : `${state} (${relativeTime(Date.parse(u.checkedAt), now)})`
}

function role (name: string, routing: RoutingView): string {
  const canary = routing.canary
  if (name === routing.active) return canary === null ? 'active' : `active (${Math.round((100 - canary.percentage) * 1000) / 1000}%)`
  if (canary !== null && name === canary.upstream) return `canary ${canary.percentage}%`
  return '-'
}

/** What a pause does, in one line. */
export function describePause (routing: RoutingView, held: number | undefined): string {
  if (!routing.paused) return `Traffic flows (a pause would hold each request up to ${formatDuration(routing.pauseMaxMs)})`
  const count = held === undefined ? '' : `; ${held} held by the replica that answered`
  return `Traffic is PAUSED: new requests are held up to ${formatDuration(routing.pauseMaxMs)} each, then answered 503 ("drawbridge resume" lets them through)${count}`
}

/** The table of `drawbridge upstreams`. */
export function describeUpstreams (view: UpstreamsView, now = Date.now()): string {
  const rows = view.upstreams.map((u) => [u.name, u.url, health(u, now), String(u.inFlight), role(u.name, view.routing)])
  const lines = [columns(['NAME', 'URL', 'HEALTH', 'IN FLIGHT', 'ROUTE'], rows, ''), '', describePause(view.routing, view.held)]
  const r = view.routing
  lines.push(`Routing updated ${r.updatedAt === null ? 'never (the first upstream is active)' : `${r.updatedAt} (${relativeTime(Date.parse(r.updatedAt), now)}) by ${r.updatedBy ?? 'unknown'}`}`)
  if (view.problem !== undefined && view.problem !== null) lines.push(`Warning: ${view.problem}`)
  return lines.join('\n')
}

function clientFor (call: RoutingCall): AdminClient {
  return createAdminClient({ url: call.adminUrl, token: call.adminToken })
}

/** The view before a change: to say "already" and what it was. */
export async function currentView (client: AdminClient, json: boolean): Promise<UpstreamsView | number> {
  const res = await client.request<UpstreamsView>('GET', '/v1/upstreams')
  return res.status === 200 ? res.body : reportApiError(res.status, res.body, json)
}

function canaryText (routing: RoutingView): string {
  const c = routing.canary
  return c === null ? `no canary: all traffic goes to ${routing.active}` : `canary: ${c.percentage}% of identities go to ${c.upstream}, the rest to ${routing.active}`
}

/** What a change did, for the readable output. */
function describeChange (command: RoutingCommand, before: UpstreamsView, after: RoutingView): string {
  const was = before.routing
  if (command === 'canary') {
    const same = JSON.stringify(was.canary) === JSON.stringify(after.canary)
    return same ? `Unchanged: ${canaryText(after)}` : `${canaryText(after)} (was: ${was.canary === null ? 'none' : `${was.canary.percentage}% to ${was.canary.upstream}`})`
  }
  if (command === 'pause') {
    const prefix = was.paused ? 'Already paused; ' : ''
    return `${prefix}${describePause(after, undefined)}`
  }
  if (!was.paused) return `Was not paused: traffic flows to ${after.active}`
  const held = before.held === undefined || before.held === 0 ? '' : ` (${before.held === 1 ? '1 held request goes' : `${before.held} held requests go`} on, in arrival order)`
  return `Resumed: traffic flows to ${after.active}${held}`
}

async function run (command: RoutingCommand, args: string[]): Promise<number> {
  const call = parseRoutingCommand(command, args)
  if (call.help) {
    process.stdout.write(UPSTREAMS_HELP)
    return 0
  }
  const client = clientFor(call)
  const before = await currentView(client, call.json)
  if (typeof before === 'number') return before
  if (call.patch === undefined) {
    if (call.json) printJson(before)
    else printLine(describeUpstreams(before))
    return 0
  }
  const res = await client.request<RoutingView>('PATCH', '/v1/routing', call.patch)
  if (res.status !== 200) return reportRoutingError(res.status, res.body, call.json)
  if (call.json) printJson(res.body)
  else printLine(describeChange(command, before, res.body))
  return 0
}

export const runUpstreams = async (args: string[]): Promise<number> => await run('upstreams', args)
export const runCanary = async (args: string[]): Promise<number> => await run('canary', args)
export const runPause = async (args: string[]): Promise<number> => await run('pause', args)
export const runResume = async (args: string[]): Promise<number> => await run('resume', args)
