import type { FastifyInstance } from 'fastify'
import type { AdminPluginOptions } from './types.js'

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** Prometheus scrape endpoint; the state gauges are read at scrape time, not kept up to date per change. */
export async function metricsRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  app.get('/metrics', { config: { public: true } }, async (_request, reply) => {
    const state = ctx.holder.current
    ctx.metrics.stateVersion.set(state?.version ?? 0)
    ctx.metrics.storeConnected.set(ctx.store.health().ok ? 1 : 0)
    ctx.metrics.maintenanceEnabled.set(state?.maintenance.enabled === true ? 1 : 0)
    return await reply.type(PROMETHEUS_CONTENT_TYPE).send(await ctx.metrics.renderAll())
  })
}
