import type { FastifyInstance } from 'fastify'
import type { MaintenanceView } from './maintenance-view.js'

/** `GET /__drawbridge/status`: whether maintenance is on, for the page's own polling and for scripts. */
export function statusRoute (app: FastifyInstance, view: MaintenanceView): void {
  app.get('/__drawbridge/status', async (_request, reply) => {
    const now = Date.now()
    const compiled = view.compiled
    const active = compiled.isActive(now)
    void reply.header('cache-control', 'no-store')
    const progress = active ? compiled.progress : null
    return {
      maintenance: active,
      retryAfter: active ? compiled.retryAfterAt(now) : null,
      endsAt: compiled.endsAt,
      message: compiled.state.message,
      // While a migration run holds the window (CONTRACT section 8); every replica reads it from the shared state.
      progress: progress === null ? null : { step: progress.step, of: progress.of, current: progress.current, etaSeconds: compiled.etaSeconds(now) }
    }
  })
}
