import { toDict } from './dict.js'
import { defaultMaintenance, defaultRouting, type AuditEntry, type FlagOverride, type SharedState } from './types.js'

/**
 * Decoding of stored documents (state file, Redis). Checks the outer shape
 * only: the document was written by this code, so a deep check would guard
 * against nothing but hand edits, and a wrong top-level shape is what a
 * truncated or foreign file looks like.
 */

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Throws an Error saying what is wrong; callers add where the document came from. */
export function decodeState (value: unknown): SharedState {
  if (!isRecord(value)) throw new Error('state is not an object')
  const { version, maintenance, routing, progress, flags, overrides, signingKey } = value
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) throw new Error('state.version is not a non-negative integer')
  if (!isRecord(maintenance)) throw new Error('state.maintenance is not an object')
  if (routing !== undefined && !isRecord(routing)) throw new Error('state.routing is not an object')
  if (progress !== undefined && progress !== null && !isRecord(progress)) throw new Error('state.progress is not an object')
  if (!isRecord(flags)) throw new Error('state.flags is not an object')
  if (!isRecord(overrides)) throw new Error('state.overrides is not an object')
  if (typeof signingKey !== 'string' || signingKey.length === 0) throw new Error('state.signingKey is not a string')
  return {
    version,
    // Fields added to MaintenanceState later get their defaults in old documents.
    maintenance: { ...defaultMaintenance(), ...maintenance } as SharedState['maintenance'],
    ...(routing === undefined ? {} : { routing: { ...defaultRouting(), ...routing } as SharedState['routing'] }),
    // Checked field by field with the rest of the state (state-schema.ts) before anything serves it.
    ...(progress === undefined ? {} : { progress: progress as SharedState['progress'] }),
    flags: toDict(flags),
    overrides: toDict(overrides, (forFlag) => isRecord(forFlag) ? toDict<FlagOverride>(forFlag) : forFlag as Record<string, FlagOverride>),
    signingKey
  }
}

/**
 * The state with its user-keyed dictionaries rebuilt without a prototype, for
 * a document a store is about to commit (drafts are structuredClone copies,
 * which get Object.prototype back).
 */
export function withOwnDicts (state: SharedState): SharedState {
  return {
    ...state,
    flags: toDict(state.flags),
    overrides: toDict(state.overrides, (forFlag) => isRecord(forFlag) ? toDict<FlagOverride>(forFlag) : forFlag as Record<string, FlagOverride>)
  }
}

export function parseState (json: string): SharedState {
  return decodeState(JSON.parse(json))
}

export function decodeAudit (value: unknown): AuditEntry[] {
  if (!Array.isArray(value)) throw new Error('audit is not an array')
  return value.filter((e): e is AuditEntry => isRecord(e) && typeof e.id === 'string' && typeof e.at === 'string')
}

/** Audit entries stored one JSON text each (Redis list items, PostgreSQL rows): a foreign or damaged one is skipped, never hides the others. */
export function decodeAuditLines (lines: readonly string[]): AuditEntry[] {
  const entries: unknown[] = []
  for (const line of lines) {
    try {
      entries.push(JSON.parse(line))
    } catch {}
  }
  return decodeAudit(entries)
}
