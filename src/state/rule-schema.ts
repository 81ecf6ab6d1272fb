import { Type, type Static, type TSchema } from '@sinclair/typebox'

/**
 * The fields of a flag rule, written once. The state schema (what any stored
 * document must look like) and the flag API (with its size bounds and
 * patterns) build their rule schemas from this with their own leaf schemas.
 */
export function ruleSchema<A extends TSchema, L extends TSchema, V extends TSchema, C extends TSchema, N extends TSchema> (
  leaves: { attribute: A, strings: L, version: V, cidr: C, variant: N },
  options: { additionalProperties?: boolean } = {}
) {
  const { attribute, strings, version, cidr, variant } = leaves
  return Type.Object({
    attribute,
    in: Type.Optional(strings),
    notIn: Type.Optional(strings),
    startsWith: Type.Optional(strings),
    endsWith: Type.Optional(strings),
    contains: Type.Optional(strings),
    /** startsWith, endsWith and contains ignore case (as Unleash's caseInsensitive; in/notIn compare exactly). */
    caseInsensitive: Type.Optional(Type.Boolean()),
    eq: Type.Optional(Type.Number()),
    lt: Type.Optional(Type.Number()),
    lte: Type.Optional(Type.Number()),
    gt: Type.Optional(Type.Number()),
    gte: Type.Optional(Type.Number()),
    semverLt: Type.Optional(version),
    semverLte: Type.Optional(version),
    semverGt: Type.Optional(version),
    semverGte: Type.Optional(version),
    semverEq: Type.Optional(version),
    cidr: Type.Optional(cidr),
    /** What a match serves: on/off, or a variant. */
    enabled: Type.Optional(Type.Boolean()),
    variant: Type.Optional(variant)
  }, options)
}

/** A rule as stored: any strings, no bounds (the API bounds them on the way in). */
export const StoredRuleSchema = ruleSchema({
  attribute: Type.String(),
  strings: Type.Array(Type.String()),
  version: Type.String(),
  cidr: Type.Array(Type.String()),
  variant: Type.String()
})

export type FlagRule = Static<typeof StoredRuleSchema>
