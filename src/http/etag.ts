import { createHash } from 'node:crypto'
import { errors } from '../errors.js'

/**
 * Entity tags of admin resources (maintenance, one flag), derived from their
 * stored content: equal content gives the same tag on every replica and after
 * a restart, and every write changes `updatedAt`, so every write changes the
 * tag. Keys are sorted so the tag does not depend on the order in which a
 * document was built or decoded.
 */

/** Stored state is ours and schema-checked (bounded depth), so plain recursion is safe here. */
function canonical (value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) {
    // A list of scalars (an allowlist) is already canonical: one native stringify instead of a call per entry.
    if (value.every((v) => v === null || typeof v !== 'object')) return JSON.stringify(value)
    return '[' + value.map(canonical).join(',') + ']'
  }
  const record = value as Record<string, unknown>
  const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort()
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonical(record[k])).join(',') + '}'
}

// A state document is immutable once committed: one digest per object is enough.
const cache = new WeakMap<object, string>()

export function etagOf (resource: object): string {
  let tag = cache.get(resource)
  if (tag === undefined) {
    tag = '"' + createHash('sha256').update(canonical(resource)).digest('base64url').slice(0, 32) + '"'
    cache.set(resource, tag)
  }
  return tag
}

/** The conditional headers of a write, as the services take them. */
export interface Preconditions {
  ifMatch?: string | undefined
  ifNoneMatch?: string | undefined
}

export function preconditionsOf (headers: Record<string, string | string[] | undefined>): Preconditions {
  const one = (v: string | string[] | undefined): string | undefined => Array.isArray(v) ? v.join(', ') : v
  return { ifMatch: one(headers['if-match']), ifNoneMatch: one(headers['if-none-match']) }
}

/** `"a", W/"b"` → the listed tags; `*` stays `*`. */
function tagsOf (header: string): string[] {
  return header.split(',').map((t) => t.trim()).filter((t) => t !== '')
}

/**
 * RFC 9110 §13.1.1/§13.1.2 for a write: `If-Match` compares strongly (a weak
 * tag never matches), `*` means "exists"; `If-None-Match: *` means "does not
 * exist yet" (create-only PUT). Called inside the store's atomic update with
 * the newest version of the resource (undefined when there is none), so the
 * check and the write cannot be separated by another writer on any replica.
 */
export function checkPreconditions (pre: Preconditions | undefined, current: object | undefined, what: string): void {
  if (pre === undefined) return
  const { ifMatch, ifNoneMatch } = pre
  if (ifMatch !== undefined) {
    const tags = tagsOf(ifMatch)
    const ok = current !== undefined && (tags.includes('*') || tags.includes(etagOf(current)))
    if (!ok) {
      throw new errors.DRAWBRIDGE_ERR_PRECONDITION_FAILED(current === undefined
        ? `${what} does not exist, so If-Match cannot match`
        : `${what} changed since it was read (If-Match ${ifMatch} does not match ${etagOf(current)}); read it again and retry`)
    }
  }
  if (ifNoneMatch !== undefined && current !== undefined) {
    const tags = tagsOf(ifNoneMatch).map((t) => t.replace(/^W\//, ''))
    if (tags.includes('*') || tags.includes(etagOf(current))) {
      throw new errors.DRAWBRIDGE_ERR_PRECONDITION_FAILED(`${what} already exists (If-None-Match ${ifNoneMatch})`)
    }
  }
}

/** Conditional GET (RFC 9110 §13.1.2): true when If-None-Match lists `etag` (weak comparison) or is `*`. */
export function notModified (ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (ifNoneMatch === undefined) return false
  const header = Array.isArray(ifNoneMatch) ? ifNoneMatch.join(',') : ifNoneMatch
  return tagsOf(header).some((t) => t === '*' || t.replace(/^W\//, '') === etag)
}
