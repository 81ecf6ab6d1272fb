import { Type, type TSchema } from '../input/typebox.js'
import { StoredFlagParts } from './rule-schema.js'
import { MAINTENANCE_STATUS_RANGE, MAX_PAGE_CHARS, MAX_REFRESH_SECONDS, PAUSE_MAX_MS_RANGE, UPSTREAM_NAME_PATTERN } from './types.js'

/**
 * The shape every state document must have before this process compiles and
 * serves it, whatever wrote it: this version's admin API, an older or newer
 * version sharing the Redis store, a hand-edited state file. The admin API
 * validates its input at the edge; this is the second line, so that a
 * document the edge would have refused (a CR/LF in `redirect`, a flag that is
 * a number) is never compiled into the request path, where it would crash
 * the process on every restart. Unknown fields are allowed: a newer version
 * may add some, and this one ignores them.
 *
 * A running gateway checks states with the check generated from this schema
 * at build time (state-shape.generated.ts, used by state-check.ts), so that
 * it need not load TypeBox; this module is for the generator and the types.
 */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const Strings = Type.Array(Type.String())

const MaintenanceSchema = Type.Object({
  enabled: Type.Boolean(),
  message: Nullable(Type.String()),
  retryAfter: Nullable(Type.Integer({ minimum: 0 })),
  startsAt: Nullable(Type.String()),
  endsAt: Nullable(Type.String()),
  allow: Strings,
  exceptPaths: Strings,
  paths: Nullable(Strings),
  mode: Type.Union([Type.Literal('full'), Type.Literal('read-only')]),
  redirect: Nullable(Type.String()),
  // Optional: states written before these fields existed lack them.
  status: Type.Optional(Nullable(Type.Integer(MAINTENANCE_STATUS_RANGE))),
  refresh: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: MAX_REFRESH_SECONDS }))),
  page: Type.Optional(Nullable(Type.String({ maxLength: MAX_PAGE_CHARS }))),
  secret: Nullable(Type.String()),
  updatedAt: Nullable(Type.String()),
  updatedBy: Nullable(Type.String())
})

const FlagSchema = Type.Object({
  key: Type.String(),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  rollout: Nullable(StoredFlagParts.rollout),
  variants: Nullable(Type.Array(StoredFlagParts.variant)),
  rules: Nullable(Type.Array(StoredFlagParts.rule)),
  gate: Nullable(Type.Object({ paths: Strings, status: Type.Integer({ minimum: 100, maximum: 599 }) })),
  requires: Nullable(Type.String()),
  prerequisites: Type.Optional(Nullable(Type.Array(Type.Object({ flag: Type.String(), enabled: Type.Optional(Type.Boolean()), variant: Type.Optional(Type.String()) })))),
  schedule: Type.Optional(Nullable(Type.Array(Type.Object({ at: Type.String(), percentage: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })), enabled: Type.Optional(Type.Boolean()) })))),
  variantStickiness: Type.Optional(Nullable(Type.String())),
  createdAt: Type.String(),
  updatedAt: Type.String()
})

const UpstreamName = Type.String({ pattern: UPSTREAM_NAME_PATTERN })

const RoutingSchema = Type.Object({
  active: Nullable(UpstreamName),
  canary: Nullable(Type.Object({ upstream: UpstreamName, percentage: Type.Number({ minimum: 0, maximum: 100 }) })),
  paused: Type.Boolean(),
  pauseMaxMs: Type.Integer(PAUSE_MAX_MS_RANGE),
  updatedAt: Nullable(Type.String()),
  updatedBy: Nullable(Type.String())
})

/** Bounded like the fields it comes from: a run's id and a migration's file name. */
const ProgressSchema = Type.Object({
  runId: Type.String({ maxLength: 100 }),
  step: Type.Integer({ minimum: 1 }),
  of: Type.Integer({ minimum: 1 }),
  current: Type.String({ maxLength: 1000 }),
  endsAt: Nullable(Type.String()),
  updatedAt: Type.String()
})

const OverrideSchema = Type.Object({ enabled: Type.Optional(Type.Boolean()), variant: Type.Optional(Type.String()) })

export const SharedStateSchema = Type.Object({
  version: Type.Integer({ minimum: 0 }),
  maintenance: MaintenanceSchema,
  // Optional: states written before upstreams existed lack it.
  routing: Type.Optional(RoutingSchema),
  // Optional: states written before runs reported progress lack it.
  progress: Type.Optional(Nullable(ProgressSchema)),
  flags: Type.Record(Type.String(), FlagSchema),
  overrides: Type.Record(Type.String(), Type.Record(Type.String(), OverrideSchema)),
  signingKey: Type.String({ minLength: 1 })
})
