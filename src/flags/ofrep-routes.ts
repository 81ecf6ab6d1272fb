import { Type } from '../input/typebox.js'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { AdminPluginOptions } from '../admin-plugin.js'
import type { CompiledFlag, Evaluation } from './compile.js'
import { evaluateFlag, ofrepValue, ofrepVariant } from './evaluate.js'
import { currentState } from './flag-service.js'
import { flagRuntime } from './flag-runtime.js'
import { markServed } from './flag-usage.js'
import { canonicalJson, MAX_CONTEXT_BYTES, readOfrepBody, UNPARSEABLE, type OfrepErrorCode } from './ofrep-context.js'
import { answersTag, compiledFor } from './compile.js'
import { notModified } from '../http/etag.js'
import { ofrepCors } from './ofrep-cors.js'

/**
 * The OpenFeature Remote Evaluation Protocol (OFREP) on the admin port, so
 * any OpenFeature SDK with an OFREP provider can evaluate Drawbridge flags.
 * Answers follow the protocol, not the admin API's error shape: success
 * `{key, reason, variant, value, metadata}`, failure `{key, errorCode,
 * errorDetails}` with 400 or 404. The read token may call these POSTs.
 */

interface OfrepSuccess { key: string, reason: string, variant?: string, value?: unknown, metadata: Record<string, never> }
interface OfrepFailure { key: string, errorCode: OfrepErrorCode, errorDetails: string, metadata: Record<string, never> }

/**
 * A flag with variants has no value when it is off: `false` would be the wrong
 * type for a string or object flag. OFREP's rule is to leave `value` (and the
 * variant) out, so the provider returns the code's default with the reason:
 * DISABLED, DEFAULT for a key outside the rollout, or the rule or override
 * that turned it off (TARGETING_MATCH).
 */
function success (cf: CompiledFlag, ev: Evaluation): OfrepSuccess {
  // metadata is always an object: providers read it without a null check.
  if (!ev.value && cf.variants.length > 0) return { key: cf.key, reason: ev.reason === 'SPLIT' ? 'DEFAULT' : ev.reason, metadata: {} }
  return { key: cf.key, reason: ev.reason, variant: ofrepVariant(ev), value: ofrepValue(cf, ev), metadata: {} }
}

function failure (key: string, errorCode: OfrepErrorCode, errorDetails: string): OfrepFailure {
  return { key, errorCode, errorDetails, metadata: {} }
}

const TARGETING_KEY_DETAILS = 'this flag needs context.targetingKey (a rollout or variants split users by it)'

export async function ofrepRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  const runtime = flagRuntime(ctx)
  ofrepCors(app, ctx.config.corsOrigins)

  // Invalid JSON must be answered as OFREP's PARSE_ERROR, not the admin API's generic 400:
  // within this plugin, the JSON parser marks the body instead of throwing.
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string).trim()
    if (text === '') { done(null, undefined); return }
    try {
      done(null, JSON.parse(text))
    } catch {
      done(null, UNPARSEABLE)
    }
  })

  const table = async () => runtime.table() ?? compiledFor(await currentState(ctx))
  const sendFailure = (reply: FastifyReply, status: number, body: OfrepFailure | Omit<OfrepFailure, 'key'>) => reply.code(status).send(body)

  app.post('/ofrep/v1/evaluate/flags/:key', {
    config: { role: 'read', apiKey: true },
    bodyLimit: MAX_CONTEXT_BYTES,
    schema: { params: Type.Object({ key: Type.String({ minLength: 1, maxLength: 1024 }) }) }
  }, async (request, reply) => {
    const { key } = request.params as { key: string }
    const read = readOfrepBody(request.body)
    if (!read.ok) return await sendFailure(reply, 400, failure(key, read.errorCode, read.errorDetails))
    const flags = await table()
    const cf = flags.byKey.get(key)
    if (cf === undefined) return await sendFailure(reply, 404, failure(key, 'FLAG_NOT_FOUND', `flag ${key} does not exist`))
    const ev = evaluateFlag(cf, read.context)
    if (ev.errorCode === 'TARGETING_KEY_MISSING') return await sendFailure(reply, 400, failure(key, 'TARGETING_KEY_MISSING', TARGETING_KEY_DETAILS))
    markServed(cf, ev, Date.now())
    return success(cf, ev)
  })

  app.post('/ofrep/v1/evaluate/flags', {
    config: { role: 'read', apiKey: true },
    bodyLimit: MAX_CONTEXT_BYTES
  }, async (request, reply) => {
    const read = readOfrepBody(request.body)
    if (!read.ok) return await sendFailure(reply, 400, { errorCode: read.errorCode, errorDetails: read.errorDetails, metadata: {} })
    const flags = await table()
    // The answer is a pure function of the flag configuration, the context and
    // the clock (scheduled steps), so a tag over them is unchanged exactly when the
    // answer would be; the evaluations below use the same instant as the tag.
    const now = Date.now()
    const etag = answersTag(flags, now, canonicalJson(read.raw))
    void reply.header('etag', etag)
    if (notModified(request.headers['if-none-match'], etag)) return await reply.code(304).send()
    const context = { ...read.context, now }
    const out: Array<OfrepSuccess | OfrepFailure> = []
    for (const cf of flags.list) {
      const ev = evaluateFlag(cf, context)
      if (ev.errorCode === 'TARGETING_KEY_MISSING') {
        out.push(failure(cf.key, 'TARGETING_KEY_MISSING', TARGETING_KEY_DETAILS))
        continue
      }
      markServed(cf, ev, now)
      out.push(success(cf, ev))
    }
    return { flags: out }
  })
}
