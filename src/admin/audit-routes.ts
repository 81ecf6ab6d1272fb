import { Type, type Static } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import { redactSecrets } from '../state/redact.js'
import { storeCall } from '../state/store-call.js'
import type { AdminPluginOptions } from '../admin-plugin.js'

const AuditQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 })
}, { additionalProperties: false })

/** Who changed what and when, newest first. */
export async function auditRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  app.get('/v1/audit', {
    schema: { querystring: AuditQuery }
  }, async (request) => {
    const { limit } = request.query as Static<typeof AuditQuery>
    const entries = await storeCall(async () => await ctx.store.listAudit(limit))
    // Writers already redact; this is the backstop for any entry that slipped a secret in.
    return { entries: entries.map((e) => ({ ...e, before: redactSecrets(e.before), after: redactSecrets(e.after) })) }
  })
}
