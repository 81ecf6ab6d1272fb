import { stat } from 'node:fs/promises'
import { Type, type Static } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import { errors } from '../errors.js'
import { compileMaintenance } from '../maintenance/compile.js'
import { defaultPagePath, loadPageTemplate, type PageTemplate } from '../maintenance/page.js'
import { MAX_RETRY_AFTER } from '../maintenance/retry-after.js'
import type { AdminPluginOptions } from '../admin-plugin.js'
import { PREVIEW_CSP, secureConsoleReply } from './security-headers.js'

/** A draft the operator is typing, shown before it is saved. */
const PreviewQuery = Type.Object({
  message: Type.Optional(Type.String({ maxLength: 4000 })),
  retryAfter: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETRY_AFTER })),
  endsAt: Type.Optional(Type.String({ maxLength: 64 }))
}, { additionalProperties: false })

/**
 * `GET /ui/preview`: the maintenance page exactly as a blocked customer gets
 * it (the same template, the same compile and render as the gateway), from
 * the current state with the draft's message, Retry-After and end laid over
 * it. Served under a sandbox CSP, so its own script never runs in the console.
 */
export async function previewRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  const file = ctx.config.page ?? defaultPagePath()
  let cached: { mtimeMs: number, template: PageTemplate } | null = null
  // Re-read when the file changes (the gateway re-reads it on SIGHUP), not on every preview.
  const template = async (): Promise<PageTemplate> => {
    const { mtimeMs } = await stat(file).catch(() => ({ mtimeMs: -1 }))
    if (cached === null || cached.mtimeMs !== mtimeMs) cached = { mtimeMs, template: loadPageTemplate(file) }
    return cached.template
  }

  app.get('/ui/preview', {
    schema: { querystring: PreviewQuery }
  }, async (request, reply) => {
    const state = ctx.holder.current
    if (state === null) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(ctx.holder.health().reason ?? 'state not loaded')
    const draft = request.query as Static<typeof PreviewQuery>
    const maintenance = {
      ...state.maintenance,
      // An empty draft message is no message: the page then says the default one.
      ...(draft.message === undefined ? {} : { message: draft.message.trim() === '' ? null : draft.message }),
      ...(draft.retryAfter === undefined ? {} : { retryAfter: draft.retryAfter }),
      ...(draft.endsAt === undefined ? {} : { endsAt: draft.endsAt === '' ? null : draft.endsAt }),
      // The secret plays no part in the page; leaving it out keeps it out of this code path.
      secret: null
    }
    const page = compileMaintenance(maintenance, { signingKey: 'preview', template: await template(), cookieTtlSeconds: 1 }).responses(Date.now()).html
    secureConsoleReply(reply, PREVIEW_CSP)
    return await reply.code(200).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(page.body)
  })
}
