import { Type } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import type { AdminPluginOptions } from '../admin-plugin.js'
import { notModified } from '../http/etag.js'
import { answersTag, compiledFor, type CompiledFlag } from './compile.js'
import { currentState } from './flag-service.js'
import { markServed } from './flag-usage.js'
import { unleashFeatures } from './unleash-features.js'

/**
 * The Unleash client API on the admin port, so Unleash's server SDKs (Node,
 * Go, Java, Python, Ruby, .NET, PHP for Laravel) read Drawbridge flags
 * unchanged: `GET /api/client/features` (with ETag), and the SDKs'
 * registration and metrics, accepted; metrics feed the stale-flag report.
 * Unleash SDKs send the token as the whole `Authorization` header; a bearer
 * token works too. The read token is enough.
 */

const CLIENT = { role: 'read' as const, rawToken: true }
/** Registration and metrics bodies are small JSON documents; the SDKs send one every minute or so. */
const BODY_LIMIT = 256 * 1024

const MetricsBody = Type.Object({
  appName: Type.Optional(Type.String({ maxLength: 256 })),
  instanceId: Type.Optional(Type.String({ maxLength: 256 })),
  bucket: Type.Object({
    start: Type.Optional(Type.String({ maxLength: 64 })),
    stop: Type.Optional(Type.String({ maxLength: 64 })),
    toggles: Type.Record(Type.String({ maxLength: 128 }), Type.Object({
      yes: Type.Optional(Type.Integer({ minimum: 0 })),
      no: Type.Optional(Type.Integer({ minimum: 0 })),
      variants: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.Integer({ minimum: 0 }), { maxProperties: 100 }))
    }), { maxProperties: 10_000 })
  })
})

/** What one SDK instance reports it served, as the outcome slots the usage tracker keeps. */
function servedSlots (cf: CompiledFlag, counts: { yes?: number, no?: number, variants?: Record<string, number> }): number[] {
  const slots: number[] = []
  if ((counts.no ?? 0) > 0) slots.push(0)
  const variants = Object.entries(counts.variants ?? {}).filter(([name, n]) => n > 0 && name !== 'disabled')
  for (const [name] of variants) {
    const i = cf.variantIndex.get(name)
    if (i !== undefined) slots.push(2 + i)
  }
  // A variant flag's "yes" without variant counts says on, but not which variant: nothing to mark.
  if ((counts.yes ?? 0) > 0 && cf.variants.length === 0) slots.push(1)
  return slots
}

export async function unleashRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  app.get('/api/client/features', { config: CLIENT }, async (request, reply) => {
    const state = await currentState(ctx)
    const now = Date.now()
    const etag = answersTag(compiledFor(state), now)
    void reply.header('etag', etag)
    if (notModified(request.headers['if-none-match'], etag)) return await reply.code(304).send()
    const { features, tooComplex } = unleashFeatures(state, now)
    if (tooComplex.length > 0) request.log.warn({ flags: tooComplex }, 'served off to Unleash SDKs: their rules cannot be translated (too many operators to negate, or an off rule with a partial rollout)')
    return { version: 2, features, query: {}, meta: { etag } }
  })

  app.post('/api/client/register', { config: CLIENT, bodyLimit: BODY_LIMIT }, async (_request, reply) => {
    return await reply.code(202).send()
  })

  app.post('/api/client/metrics', { config: CLIENT, bodyLimit: BODY_LIMIT, schema: { body: MetricsBody } }, async (request, reply) => {
    const { bucket } = request.body as { bucket: { toggles: Record<string, { yes?: number, no?: number, variants?: Record<string, number> }> } }
    const table = compiledFor(await currentState(ctx))
    const now = Date.now()
    for (const [key, counts] of Object.entries(bucket.toggles)) {
      const cf = table.byKey.get(key)
      if (cf === undefined) continue
      for (const slot of servedSlots(cf, counts)) markServed(cf, { value: slot !== 0, variant: null, reason: 'STATIC', slot }, now)
    }
    return await reply.code(202).send()
  })
}
