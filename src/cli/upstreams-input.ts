import { PAUSE_MAX_MS_RANGE, UPSTREAM_NAME_PATTERN } from '../state/types.js'
import { parseArgs, stringOption, type OptionSpec, type ParsedArgs } from './args.js'
import { parseDuration } from './maintenance-window.js'
import { UsageError } from './output.js'

/**
 * The command lines of `upstreams`, `switch`, `canary`, `pause` and `resume`
 * (CONTRACT section 6) turned into what to send: every value is checked as
 * the server checks it, so a mistake is a usage error (exit 2) naming the
 * option before any request.
 */

export const UPSTREAMS_HELP = `Usage: drawbridge upstreams [--json]
       drawbridge switch NAME [--force] [--drain-timeout 30s] [--json]
       drawbridge canary NAME PERCENT [--force] [--json]
       drawbridge canary off [--json]
       drawbridge pause [--max 30s] [--json]
       drawbridge resume [--json]

Blue-green switches, canaries and pauses between the named upstreams
(--upstreams blue=URL,green=URL on "serve"), through the admin API. The
routing is stored beside the maintenance state: every replica follows it.

  upstreams     the upstreams, their health, requests in flight, which one is
                active, the canary and whether traffic is paused (read token
                is enough)
  switch NAME   send new requests to NAME; requests in flight finish where
                they started. Then waits until the previous upstream has no
                request in flight (as counted by the replica answering), at
                most --drain-timeout (default 30s; 0s: do not wait), and says
                whether it drained. Exit 0 either way: the switch is done
                (--json: "drained" tells scripts)
  canary NAME PERCENT
                send PERCENT % (0-100) of identities to NAME, always the same
                ones; the rest go to the active upstream. 0 ends the canary
  canary off    end the canary: everything goes to the active upstream
  pause         hold new requests instead of answering them, until "resume"
                (then they go on, in arrival order, to the active upstream) or
                until each has waited --max (then it gets the maintenance 503)
  resume        end the pause

Options:
  --force               switch (or start a canary) even if NAME fails the
                        health check made right then (409 without it)
  --drain-timeout TIME  switch: how long to wait for the old upstream to drain
                        (500ms, 30s, 5m; default 30s)
  --max TIME            pause: longest a request is held (1ms to 10m);
                        without it, the stored value (30s unless changed)
  --json                print the API's JSON instead of text

Connection:
  --admin-url URL       default: $DRAWBRIDGE_ADMIN_URL, else http://127.0.0.1:9090
  --admin-token TOKEN   default: $DRAWBRIDGE_ADMIN_TOKEN

Examples:
  drawbridge upstreams
  drawbridge canary green 10
  drawbridge switch green --drain-timeout 2m
  drawbridge switch blue            # rollback
  drawbridge pause --max 20s && systemctl restart shop && drawbridge resume
`

export type RoutingCommand = 'upstreams' | 'switch' | 'canary' | 'pause' | 'resume'

/** Options each command takes, besides --json, --help and the connection. */
const OPTIONS: Record<RoutingCommand, OptionSpec> = {
  upstreams: {},
  switch: { force: 'boolean', 'drain-timeout': 'string' },
  canary: { force: 'boolean' },
  pause: { max: 'string' },
  resume: {}
}

const NAME = new RegExp(UPSTREAM_NAME_PATTERN)

export interface RoutingCall {
  /** The PATCH /v1/routing body; undefined for `upstreams` (a read). */
  patch?: Record<string, unknown>
  json: boolean
  help: boolean
  adminUrl: string | undefined
  adminToken: string | undefined
  /** `switch` only: how long to wait for the previous upstream to drain, in ms. */
  drainTimeoutMs: number
}

function upstreamName (value: string | undefined, command: string, what = 'NAME'): string {
  if (value === undefined) throw new UsageError(`${command}: missing ${what} (an upstream name, as "drawbridge upstreams" lists them)`, `drawbridge ${command} --help`)
  if (!NAME.test(value)) throw new UsageError(`${command}: "${value}" is not an upstream name (letters, digits, _ . -; up to 63 characters)`)
  return value
}

/** `10`, `12.5` or `10%`: a percentage from 0 to 100. */
export function parsePercent (value: string | undefined): number {
  if (value === undefined) throw new UsageError('canary: missing PERCENT (0-100, e.g. "drawbridge canary green 10")', 'drawbridge canary --help')
  const text = value.endsWith('%') ? value.slice(0, -1) : value
  const percent = /^\d+(\.\d+)?$/.test(text) ? Number(text) : NaN
  if (!(percent >= 0 && percent <= 100)) throw new UsageError(`canary: PERCENT "${value}" must be a number from 0 to 100`)
  return percent
}

function noMore (parsed: ParsedArgs, command: string, count: number): void {
  const extra = parsed.positionals[count]
  if (extra !== undefined) throw new UsageError(`${command}: unexpected argument "${extra}"`, `drawbridge ${command} --help`)
}

/** Reads one command's arguments; throws UsageError (exit 2) for anything the server would refuse as malformed. */
export function parseRoutingCommand (command: RoutingCommand, args: readonly string[]): RoutingCall {
  const parsed = parseArgs(args, OPTIONS[command])
  const call: RoutingCall = {
    json: parsed.options.json === true,
    help: parsed.options.help === true,
    adminUrl: stringOption(parsed, 'admin-url'),
    adminToken: stringOption(parsed, 'admin-token'),
    drainTimeoutMs: 30_000
  }
  if (call.help) return call
  const [first, second] = parsed.positionals
  const force = parsed.options.force === true ? { force: true } : {}
  switch (command) {
    case 'upstreams':
      noMore(parsed, command, 0)
      break
    case 'switch': {
      const name = upstreamName(first, command)
      noMore(parsed, command, 1)
      const timeout = stringOption(parsed, 'drain-timeout')
      if (timeout !== undefined) call.drainTimeoutMs = parseDuration(timeout, 'drain-timeout', { minimum: 0, maximum: 86_400_000 })
      call.patch = { active: name, ...force }
      break
    }
    case 'canary':
      if (first === 'off' && second === undefined) {
        if (parsed.options.force === true) throw new UsageError('canary off: --force is for starting a canary')
        call.patch = { canary: null }
        break
      }
      call.patch = { canary: { upstream: upstreamName(first, command), percentage: parsePercent(second) }, ...force }
      noMore(parsed, command, 2)
      break
    case 'pause': {
      noMore(parsed, command, 0)
      const max = stringOption(parsed, 'max')
      call.patch = { paused: true, ...(max === undefined ? {} : { pauseMaxMs: parseDuration(max, 'max', PAUSE_MAX_MS_RANGE) }) }
      break
    }
    case 'resume':
      noMore(parsed, command, 0)
      call.patch = { paused: false }
      break
  }
  return call
}
