import type { FastifyInstance } from 'fastify'
import { clusterMetrics, collectMetrics } from '../cluster/metrics-gather.js'
import { renderFamilies, type MetricFamily } from '../metrics.js'
import type { AdminPluginOptions } from '../admin-plugin.js'

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/**
 * Prometheus scrape endpoint. With `--workers N` one scrape covers every
 * worker: the primary gathers and aggregates them (cluster/metrics-gather.ts);
 * should it not answer, this worker's own metrics are better than a failed scrape.
 */
export async function metricsRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  app.get('/metrics', { config: { public: true } }, async (request, reply) => {
    let families: MetricFamily[]
    if (ctx.cluster === undefined) {
      families = await collectMetrics(ctx)
    } else {
      try {
        families = await clusterMetrics(ctx.cluster)
      } catch (err) {
        request.log.warn({ err }, 'cluster primary did not gather the workers\' metrics; serving this worker\'s only')
        families = await collectMetrics(ctx)
      }
    }
    return await reply.type(PROMETHEUS_CONTENT_TYPE).send(renderFamilies(families))
  })
}
