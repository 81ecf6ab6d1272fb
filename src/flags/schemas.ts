import { Type, type Static, type TSchema } from '../input/typebox.js'
import { flagParts, MAX_VARIANTS } from '../state/rule-schema.js'

/**
 * Shapes and sizes of the flag API. Meaning (unique variant names, weights
 * adding up, operands that compile, the variant a rule names existing) is
 * checked by flag-validate.ts, which can name the exact field that is wrong.
 */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])

export const FLAG_KEY_PATTERN = '^[a-z0-9][a-z0-9._-]{0,127}$'
export const FlagKey = Type.String({ pattern: FLAG_KEY_PATTERN, description: 'Lower-case letters, digits, ".", "_" and "-"; at most 128.' })
/** Variant names travel in `X-Drawbridge-Flags: key=variant,...`, so no `,`, `=` or spaces. */
export const VariantName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' })
export const UserId = Type.String({ minLength: 1, maxLength: 256 })

const parts = flagParts(true, VariantName)

export const RolloutSchema = parts.rollout
export const VariantSchema = parts.variant
export const RuleSchema = parts.rule
export const StickinessSchema = parts.stickiness

export const GateSchema = Type.Object({
  paths: Type.Array(Type.String({ pattern: '^/', maxLength: 2048 }), { minItems: 1, maxItems: 1000 }),
  status: Type.Integer({ minimum: 400, maximum: 599 })
}, { additionalProperties: false })

export const PrerequisiteSchema = Type.Object({
  flag: FlagKey,
  /** Default true: the other flag must be on. */
  enabled: Type.Optional(Type.Boolean()),
  variant: Type.Optional(VariantName)
}, { additionalProperties: false })

export const ScheduleStepSchema = Type.Object({
  at: Type.String({ maxLength: 64 }),
  percentage: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
  enabled: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

const flagFields = {
  /** Optional in a body; when given it must equal the key in the URL. */
  key: Type.Optional(FlagKey),
  description: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))),
  enabled: Type.Optional(Type.Boolean()),
  rollout: Type.Optional(Nullable(RolloutSchema)),
  variants: Type.Optional(Nullable(Type.Array(VariantSchema, { maxItems: MAX_VARIANTS }))),
  variantStickiness: Type.Optional(Nullable(StickinessSchema)),
  rules: Type.Optional(Nullable(Type.Array(RuleSchema, { maxItems: 1000 }))),
  gate: Type.Optional(Nullable(GateSchema)),
  // A migration's name (its file name without .sql), looked up in PostgreSQL, which cannot hold a control character (NUL) in text.
  requires: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 255, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }))),
  prerequisites: Type.Optional(Nullable(Type.Array(PrerequisiteSchema, { maxItems: 20 }))),
  schedule: Type.Optional(Nullable(Type.Array(ScheduleStepSchema, { maxItems: 50 }))),
  // Read-only fields a client may echo back from a GET (GET → edit → PUT); ignored.
  createdAt: Type.Optional(Type.String({ maxLength: 64 })),
  updatedAt: Type.Optional(Type.String({ maxLength: 64 })),
  lastEvaluatedAt: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  inForce: Type.Optional(Type.Unknown())
}

/**
 * The body of PUT and PATCH: the same fields, read two ways. PUT: fields left
 * out take their defaults (off, no rollout...). PATCH: fields left out keep
 * their value; null clears.
 */
export const FlagBodySchema = Type.Object(flagFields, { additionalProperties: false })
export type FlagBody = Static<typeof FlagBodySchema>

export const OverrideSchema = Type.Object({
  enabled: Type.Optional(Type.Boolean()),
  variant: Type.Optional(VariantName)
}, { additionalProperties: false })
export type OverrideBody = Static<typeof OverrideSchema>

export const KeyParams = Type.Object({ key: FlagKey }, { additionalProperties: false })
export const OverrideParams = Type.Object({ key: FlagKey, userId: UserId }, { additionalProperties: false })
export const UserParams = Type.Object({ userId: UserId }, { additionalProperties: false })

export const ListQuery = Type.Object({
  stale: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

/** Context attributes for GET /v1/users/:userId/flags?plan=pro&version=2.1.0. */
export const UserFlagsQuery = Type.Object({}, {
  additionalProperties: Type.String({ maxLength: 1024 }),
  maxProperties: 100
})

export const FlagViewSchema = Type.Object({
  key: Type.String(),
  description: Nullable(Type.String()),
  enabled: Type.Boolean(),
  rollout: Nullable(RolloutSchema),
  variants: Nullable(Type.Array(VariantSchema)),
  variantStickiness: Type.Optional(Nullable(Type.String())),
  rules: Nullable(Type.Array(RuleSchema)),
  gate: Nullable(GateSchema),
  requires: Nullable(Type.String()),
  prerequisites: Nullable(Type.Array(PrerequisiteSchema)),
  schedule: Nullable(Type.Array(ScheduleStepSchema)),
  /** With a schedule: what the flag serves now, and when that changes. */
  inForce: Type.Optional(Type.Object({
    enabled: Type.Boolean(),
    percentage: Nullable(Type.Number()),
    step: Nullable(Type.Integer()),
    nextAt: Nullable(Type.String())
  })),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  lastEvaluatedAt: Type.Optional(Nullable(Type.String())),
  stale: Type.Optional(Type.Object({
    reason: Type.String(),
    servedValue: Nullable(Type.String()),
    days: Type.Integer()
  }))
})

export const OverrideViewSchema = Type.Object({
  key: Type.String(),
  userId: Type.String(),
  enabled: Type.Optional(Type.Boolean()),
  variant: Type.Optional(Type.String())
})

export const ResolvedFlagSchema = Type.Object({
  key: Type.String(),
  enabled: Type.Boolean(),
  value: Type.Unknown(),
  variant: Type.String(),
  reason: Type.String(),
  hasOverride: Type.Boolean(),
  errorCode: Type.Optional(Type.String())
})
