import type { Flag, FlagOverride, SharedState } from '../../src/state/types.js'
import { defaultMaintenance } from '../../src/state/types.js'

/** A complete Flag with defaults for everything not given. */
export function makeFlag (key: string, fields: Partial<Flag> = {}): Flag {
  return {
    key,
    description: null,
    enabled: true,
    rollout: null,
    variants: null,
    rules: null,
    gate: null,
    requires: null,
    createdAt: '2020-01-01T00:00:00.000Z',
    updatedAt: '2020-01-01T00:00:00.000Z',
    ...fields
  }
}

export function makeState (flags: Flag[], overrides: Record<string, Record<string, FlagOverride>> = {}, version = 1): SharedState {
  return {
    version,
    maintenance: defaultMaintenance(),
    flags: Object.fromEntries(flags.map((f) => [f.key, f])),
    overrides,
    signingKey: 'k'.repeat(64)
  }
}
