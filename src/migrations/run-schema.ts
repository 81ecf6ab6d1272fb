import { Type, type Static } from '../input/typebox.js'
import { MAX_RETRY_AFTER } from '../maintenance/maintenance-patch.js'

/** Body of `POST /v1/migrations/runs` (the run options, plus message/retryAfter/lockRetries). */
export const RunBodySchema = Type.Object({
  dryRun: Type.Optional(Type.Boolean({ description: 'Execute each pending migration in a transaction that is rolled back.' })),
  step: Type.Optional(Type.Integer({ minimum: 1, description: 'Apply at most this many pending migrations.' })),
  maintenance: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('never')], {
    description: 'auto: open a maintenance window only when a pending migration needs one.'
  })),
  pause: Type.Optional(Type.Boolean({ description: 'Hold traffic while the migrations run (a routing pause, bounded by pauseMaxMs) instead of opening a maintenance window.' })),
  backup: Type.Optional(Type.Boolean({ description: 'pg_dump -Fc into backupDir before the first migration.' })),
  allowDangerous: Type.Optional(Type.Boolean({ description: 'Run even with high-severity findings.' })),
  onFailure: Type.Optional(Type.Union([Type.Literal('keep'), Type.Literal('restore')], {
    description: 'keep: leave maintenance on after a failure; restore: put it back as it was before the run.'
  })),
  statementTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000 })),
  lockTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
  lockRetries: Type.Optional(Type.Integer({ minimum: 0, maximum: 20, description: 'Retries after a statement hits lock_timeout.' })),
  message: Type.Optional(Type.String({ maxLength: 4000, description: 'Maintenance message while the window is open.' })),
  retryAfter: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_RETRY_AFTER, description: 'Retry-After seconds while the window is open.' })),
  requireRehearsal: Type.Optional(Type.Boolean({ description: 'Refuse to start (409) unless a rehearsal of exactly the files this run would apply succeeded in the last 24 h.' }))
}, { additionalProperties: false })

export type RunBody = Static<typeof RunBodySchema>

export const AnalyzeBodySchema = Type.Object({}, { additionalProperties: false })
