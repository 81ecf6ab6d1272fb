import { Type, type Static, type TString } from '../input/typebox.js'

/**
 * The targeting parts of a flag (conditions, rules, rollouts, variants),
 * written once. The state schema (what any stored document must look like:
 * any strings, unknown fields allowed) and the flag API (size bounds, no
 * unknown fields) build theirs from this; `bounded` picks which.
 */

/** Longest REGEX pattern the API accepts: patterns are compiled once per state change, never per request. */
export const MAX_REGEX_LENGTH = 512
export const MAX_CONDITIONS = 50
export const MAX_VARIANTS = 100
export const MAX_VARIANT_OVERRIDES = 20

export function flagParts (bounded: boolean, variantName: TString = Type.String()) {
  const bound = <T extends object>(limits: T): Partial<T> => bounded ? limits : {}
  const closed = bounded ? { additionalProperties: false } : {}
  const text = (maxLength: number) => Type.String(bound({ maxLength }))
  const attribute = Type.String(bound({ minLength: 1, maxLength: 128 }))
  const strings = Type.Array(text(1024), bound({ maxItems: 10_000 }))
  const version = text(256)
  const date = text(64)

  /** The operators of one condition; all the ones set must hold (AND). */
  const operators = {
    in: Type.Optional(strings),
    notIn: Type.Optional(strings),
    startsWith: Type.Optional(strings),
    endsWith: Type.Optional(strings),
    contains: Type.Optional(strings),
    /** startsWith, endsWith, contains and regex ignore case (Unleash's caseInsensitive; in/notIn compare exactly). */
    caseInsensitive: Type.Optional(Type.Boolean()),
    /** The condition holds when its one operator does not (Unleash's inverted). */
    inverted: Type.Optional(Type.Boolean()),
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
    cidr: Type.Optional(Type.Array(text(64), bound({ maxItems: 10_000 }))),
    /** RE2 syntax (linear time), matched anywhere in the value unless anchored. */
    regex: Type.Optional(text(MAX_REGEX_LENGTH)),
    /** On `currentTime`: the evaluation instant (the context's currentTime, else now) is after / before this ISO date-time. */
    dateAfter: Type.Optional(date),
    dateBefore: Type.Optional(date)
  }

  const condition = Type.Object({ attribute, ...operators }, closed)

  /**
   * Who a rollout hashes: absent, the targeting key (0% and 100% need none);
   * `default`: the targeting key, else `sessionId`, else a random draw;
   * `random`: a random draw per evaluation (never sticky); any other name:
   * that context attribute, and no one without it.
   */
  const stickiness = Type.String(bound({ minLength: 1, maxLength: 128 }))

  const rollout = Type.Object({
    percentage: Type.Number({ minimum: 0, maximum: 100 }),
    groupId: Type.Optional(Type.String(bound({ minLength: 1, maxLength: 256 }))),
    stickiness: Type.Optional(stickiness)
  }, closed)

  /** Users whose attribute is one of `in` get this variant whenever variants are chosen (Unleash's variant overrides). */
  const variantOverride = Type.Object({ attribute, in: strings }, closed)

  const variant = Type.Object({
    name: variantName,
    weight: bounded ? Type.Integer({ minimum: 0, maximum: 1_000_000 }) : Type.Number(),
    /** Value served over OFREP; the variant's name when absent. */
    value: Type.Optional(Type.Unknown()),
    overrides: Type.Optional(Type.Array(variantOverride, bound({ maxItems: MAX_VARIANT_OVERRIDES })))
  }, closed)

  /** A rule's own weights over the flag's variants (Unleash's strategy variants). */
  const ruleVariant = Type.Object({
    name: variantName,
    weight: bounded ? Type.Integer({ minimum: 0, maximum: 1_000_000 }) : Type.Number()
  }, closed)

  /**
   * A rule matches when its own condition (`attribute` and operators, the
   * contract's form), every one of `conditions`, and its `rollout` hold; it
   * then serves on/off, a `variant`, or one of its `variants`.
   */
  const rule = Type.Object({
    attribute: Type.Optional(attribute),
    ...operators,
    conditions: Type.Optional(Type.Array(condition, bound({ maxItems: MAX_CONDITIONS }))),
    rollout: Type.Optional(rollout),
    /** What a match serves: on/off, or a variant. */
    enabled: Type.Optional(Type.Boolean()),
    variant: Type.Optional(variantName),
    variants: Type.Optional(Type.Array(ruleVariant, bound({ maxItems: MAX_VARIANTS })))
  }, closed)

  return { condition, rollout, variant, ruleVariant, rule, stickiness }
}

/** As stored: any strings, no bounds (the API bounds them on the way in). */
export const StoredFlagParts = flagParts(false)

export type FlagRule = Static<typeof StoredFlagParts.rule>
export type FlagCondition = Static<typeof StoredFlagParts.condition>
export type FlagRollout = Static<typeof StoredFlagParts.rollout>
export type FlagVariant = Static<typeof StoredFlagParts.variant>
