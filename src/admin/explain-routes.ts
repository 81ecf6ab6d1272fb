import type { IncomingMessage } from 'node:http'
import { Type, type Static } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import { errors } from '../errors.js'
import { isValidIp } from '../net/cidr-set.js'
import { explain, isExcepted } from '../maintenance/explain.js'
import { namedUpstreams } from '../config/upstream-list.js'
import { explainFlags } from '../flags/explain-flags.js'
import { flagRuntime } from '../flags/flag-runtime.js'
import { identityReader } from '../flags/request-flags.js'
import { normalizeTarget } from '../http/paths.js'
import { compileRouting, pickUpstream } from '../upstreams/routing.js'
import type { AdminPluginOptions } from '../admin-plugin.js'

const ExplainBody = Type.Object({
  method: Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z]+$' }),
  path: Type.String({ minLength: 1, maxLength: 8192 }),
  ip: Type.String({ minLength: 1, maxLength: 64 }),
  headers: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 16384 }), { maxProperties: 200 }))
}, { additionalProperties: false })

const Explanation = Type.Object({
  action: Type.String(),
  rule: Type.String(),
  status: Type.Integer(),
  retryAfter: Type.Union([Type.Integer(), Type.Null()]),
  location: Type.Union([Type.String(), Type.Null()]),
  /** The upstream a passed request goes to (the canary's when its identity falls in it); null when the gateway answers itself. */
  upstream: Type.Union([Type.String(), Type.Null()]),
  /** True when a pause would hold it first. */
  held: Type.Boolean(),
  /** For a request the maintenance rules let through: each flag for its identity, the gate that answers, the header the upstream gets. */
  flags: Type.Union([Type.Object({
    identity: Type.Union([Type.String(), Type.Null()]),
    header: Type.String(),
    gate: Type.Union([Type.Object({ flag: Type.String(), status: Type.Integer() }), Type.Null()]),
    flags: Type.Array(Type.Object({ key: Type.String(), value: Type.Boolean(), variant: Type.Union([Type.String(), Type.Null()]), reason: Type.String() }))
  }), Type.Null()]),
  stateVersion: Type.Union([Type.Integer(), Type.Null()])
})

/**
 * "Why was I blocked?": the decision the gateway would take right now for a
 * described request, from the state this process holds. A read token may ask;
 * it is a question, not a change.
 */
export async function explainRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  app.post('/v1/explain', {
    config: { role: 'read' },
    schema: { body: ExplainBody, response: { 200: Explanation } }
  }, async (request) => {
    const body = request.body as Static<typeof ExplainBody>
    if (!isValidIp(body.ip)) throw new errors.DRAWBRIDGE_ERR_INVALID(`body/ip must be an IPv4 or IPv6 address (got ${JSON.stringify(body.ip)})`)
    if (!body.path.startsWith('/')) throw new errors.DRAWBRIDGE_ERR_INVALID('body/path must start with \'/\'')
    const state = ctx.holder.current
    const headers = body.headers ?? {}
    const now = Date.now()
    const result = explain({ method: body.method, path: body.path, ip: body.ip, headers }, state, ctx.config, now)
    const names = ctx.upstreams?.names ?? namedUpstreams(ctx.config).map((u) => u.name)
    const routing = compileRouting(state?.routing, names)
    const passed = result.action === 'pass' && result.rule !== 'reserved'
    // The flags identity (and the canary's key) as the gateway reads it from these headers; else the address.
    const rawHeaders = Object.entries(headers).flat()
    const identity = identityReader(ctx.config.flagsIdentity)({ rawHeaders } as unknown as IncomingMessage)
    // What the gateway asks of flags for a request it is about to proxy: a gate may still answer instead.
    const flags = passed
      ? explainFlags(flagRuntime(ctx).table(), {
        identity,
        path: normalizeTarget(body.path) ?? body.path,
        method: body.method.toUpperCase(),
        ip: body.ip,
        host: Object.entries(headers).find(([name]) => name.toLowerCase() === 'host')?.[1]
      }, now, ctx.config.flagsHeaderMaxBytes)
      : null
    if (flags?.gate != null) {
      return { action: 'block', rule: `flag-gate:${flags.gate.flag}`, status: flags.gate.status, retryAfter: null, location: null, upstream: null, held: false, flags, stateVersion: state?.version ?? null }
    }
    return {
      ...result,
      upstream: passed ? names[pickUpstream(routing, identity ?? body.ip)] ?? null : null,
      held: passed && routing.paused && !isExcepted(body.path, state, ctx.config),
      flags,
      stateVersion: state?.version ?? null
    }
  })
}
