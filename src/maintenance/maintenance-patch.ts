import { randomBytes } from 'node:crypto'
import { errors } from '../errors.js'
import { parseIsoDateTime } from '../input/iso-date.js'
import { redirectPath, redirectProblem } from '../input/redirect-target.js'
import { hasControlChars } from '../input/safe-text.js'
import { CidrError, parseCidr } from '../net/cidr-set.js'
import { compileAllowMatcher, compileBlockMatcher, isReservedPath, normalizePrefix } from '../http/paths.js'
import { MAX_RETRY_AFTER } from './retry-after.js'
import { MAINTENANCE_STATUS_RANGE, MAX_PAGE_CHARS, MAX_REFRESH_SECONDS, type MaintenanceState } from '../state/types.js'

/**
 * Semantic checks of a maintenance change, shared by the PATCH route and by
 * callers inside the process (migrations). The route's JSON schema has already
 * checked types; these checks repeat the type checks cheaply so in-process
 * callers get the same guarantees, and add what a schema cannot say.
 */

export type MaintenancePatch = Partial<Omit<MaintenanceState, 'secret' | 'updatedAt' | 'updatedBy'>> & { secret?: string | true | null } & Partial<ListEdits>

/**
 * Edits of single list entries, applied to the newest state inside the store's
 * atomic update, so concurrent clients that each add one CIDR never lose one
 * another's addition (no read-modify-write on the client side).
 */
export interface ListEdits {
  allowAdd: string[]
  allowRemove: string[]
  exceptPathsAdd: string[]
  exceptPathsRemove: string[]
  pathsAdd: string[]
  pathsRemove: string[]
}

type ListField = 'allow' | 'exceptPaths' | 'paths'
const LIST_EDITS: ReadonlyArray<readonly [ListField, keyof ListEdits, keyof ListEdits]> = [
  ['allow', 'allowAdd', 'allowRemove'],
  ['exceptPaths', 'exceptPathsAdd', 'exceptPathsRemove'],
  ['paths', 'pathsAdd', 'pathsRemove']
]
const EDIT_KEYS = new Set<string>(LIST_EDITS.flatMap(([, add, remove]) => [add, remove]))

/** Path-safe, so `/<secret>` needs no encoding; long enough not to be guessed. */
export const SECRET_PATTERN = /^[A-Za-z0-9._~-]{16,256}$/
export { MAX_RETRY_AFTER }

/** 192 random bits, base64url: 32 characters that are safe in a URL path. */
export function generateSecret (): string {
  return randomBytes(24).toString('base64url')
}

function invalid (message: string): Error {
  return new errors.DRAWBRIDGE_ERR_INVALID(message)
}

function isoDate (value: unknown, field: string): string | null {
  if (value === null) return null
  const ms = typeof value === 'string' ? parseIsoDateTime(value) : null
  if (ms === null) {
    throw invalid(`${field} must be a real calendar date-time in ISO 8601 with a timezone, e.g. 2026-11-22T03:00:00Z (got ${JSON.stringify(value)})`)
  }
  return new Date(ms).toISOString()
}

function pathList (value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be array`)
  value.forEach((p, i) => {
    if (typeof p !== 'string' || !p.startsWith('/')) throw invalid(`${field}/${i} must be a path starting with '/' (got ${JSON.stringify(p)})`)
    if (p.length > 2048) throw invalid(`${field}/${i} must NOT have more than 2048 characters`)
    // A CR/LF or NUL in a rule is never a path a request can have; in logs and the audit it forges lines.
    if (hasControlChars(p)) throw invalid(`${field}/${i} must not contain control characters (got ${JSON.stringify(p)})`)
  })
  return value as string[]
}

function integerIn (value: unknown, field: string, minimum: number, maximum: number, unit: string): number | null {
  if (value === null) return null
  if (!Number.isInteger(value) || (value as number) < minimum || (value as number) > maximum) {
    throw invalid(`${field} must be an integer from ${minimum} to ${maximum}${unit}, or null (got ${JSON.stringify(value)})`)
  }
  return value as number
}

/** A page template: text, bounded, without the NUL and other control bytes no HTML document needs (tabs and newlines are fine). */
function pageTemplate (value: unknown): string | null {
  if (value === null || value === '') return null
  if (typeof value !== 'string') throw invalid('page must be string')
  if (value.length > MAX_PAGE_CHARS) throw invalid(`page must NOT have more than ${MAX_PAGE_CHARS} characters`)
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.exec(value)
  if (control !== null) throw invalid(`page must not contain control characters (found U+${control[0].charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()})`)
  return value
}

function redirectTarget (value: unknown): string | null {
  if (value === null) return null
  if (typeof value !== 'string') throw invalid('redirect must be string')
  const problem = redirectProblem(value)
  if (problem !== null) throw invalid(`redirect ${problem} (got ${JSON.stringify(value)})`)
  return value
}

const KNOWN = new Set(['enabled', 'message', 'retryAfter', 'startsAt', 'endsAt', 'allow', 'exceptPaths', 'paths', 'mode', 'redirect', 'status', 'refresh', 'page', 'secret', ...EDIT_KEYS])

function cidrList (value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be array`)
  value.forEach((cidr: unknown, i) => {
    try {
      parseCidr(cidr as string)
    } catch (err) {
      if (err instanceof CidrError) throw invalid(`${field}/${i} ${err.message}`)
      throw err
    }
  })
  return value as string[]
}

/**
 * Checks a patch and returns it normalised (dates as ISO strings in UTC, a
 * generated secret in place of `true`). Throws DRAWBRIDGE_ERR_INVALID naming
 * the first bad field; nothing has been written at that point.
 */
export function normalizePatch (patch: MaintenancePatch): Partial<MaintenanceState> {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw invalid('the change must be an object')
  const out: Partial<MaintenanceState> = {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue
    if (!KNOWN.has(key)) throw invalid(`must NOT have additional properties: '${key}'`)
    switch (key) {
      case 'enabled':
        if (typeof value !== 'boolean') throw invalid('enabled must be boolean')
        out.enabled = value
        break
      case 'message':
        if (value !== null && typeof value !== 'string') throw invalid('message must be string')
        if (typeof value === 'string' && value.length > 4000) throw invalid('message must NOT have more than 4000 characters')
        out.message = value === '' ? null : value as string | null
        break
      case 'retryAfter':
        if (value !== null && (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX_RETRY_AFTER)) {
          throw invalid(`retryAfter must be an integer from 0 to ${MAX_RETRY_AFTER} seconds, or null`)
        }
        out.retryAfter = value as number | null
        break
      case 'startsAt':
      case 'endsAt':
        out[key] = isoDate(value, key)
        break
      case 'allow':
        out.allow = cidrList(value, 'allow')
        break
      case 'exceptPaths':
        out.exceptPaths = pathList(value, 'exceptPaths')
        break
      case 'paths':
        if (value === null) {
          out.paths = null
        } else {
          out.paths = pathList(value, 'paths')
          if (out.paths.length === 0) throw invalid('paths must list at least one path prefix, or be null for every path')
        }
        break
      case 'mode':
        if (value !== 'full' && value !== 'read-only') throw invalid(`mode must be "full" or "read-only" (got ${JSON.stringify(value)})`)
        out.mode = value
        break
      case 'redirect':
        out.redirect = redirectTarget(value)
        break
      case 'status':
        out.status = integerIn(value, 'status', MAINTENANCE_STATUS_RANGE.minimum, MAINTENANCE_STATUS_RANGE.maximum, '')
        break
      case 'refresh':
        out.refresh = integerIn(value, 'refresh', 1, MAX_REFRESH_SECONDS, ' seconds')
        break
      case 'page':
        out.page = pageTemplate(value)
        break
      case 'secret':
        if (value === true) out.secret = generateSecret()
        else if (value === null) out.secret = null
        else if (typeof value !== 'string' || !SECRET_PATTERN.test(value)) {
          throw invalid('secret must be true (generate one), null (clear it), or 16 to 256 characters from A-Z a-z 0-9 . _ ~ -')
        } else out.secret = value
        break
    }
  }
  return out
}

export interface MergedCheckOptions {
  /** The gateway's public URL (config.publicUrl): an absolute redirect to it is checked like a path. */
  publicUrl?: string | undefined
}

/**
 * The path on this gateway a redirect points to, or null when it leaves the
 * site (or the site's public address is not known, so it cannot be told).
 */
function redirectOnSite (redirect: string, publicUrl: string | undefined): string | null {
  const path = redirectPath(redirect)
  if (path !== null) return path
  if (publicUrl === undefined) return null
  try {
    const target = new URL(redirect)
    const site = new URL(publicUrl)
    if (target.origin !== site.origin) return null
    const base = site.pathname.replace(/\/+$/, '')
    if (base !== '' && target.pathname !== base && !target.pathname.startsWith(base + '/')) return null
    return target.pathname
  } catch {
    return null
  }
}

/**
 * A redirect to a path maintenance itself blocks sends the browser round in
 * a loop of 307s (for writes in read-only mode too): the target must be
 * outside `paths`, listed in `exceptPaths`, on another site, or a reserved path.
 */
function checkRedirectLoop (next: MaintenanceState, publicUrl: string | undefined): void {
  if (next.redirect === null) return
  const path = redirectOnSite(next.redirect, publicUrl)
  if (path === null) return
  // The same matchers the gateway uses: blocked by every spelling, excepted only exactly.
  const normalized = normalizePrefix(path)
  if (isReservedPath(normalized)) return
  const inScope = next.paths === null || compileBlockMatcher(next.paths)(normalized)
  if (!inScope || compileAllowMatcher(next.exceptPaths)(normalized)) return
  throw invalid(`redirect ${JSON.stringify(next.redirect)} points inside the maintenance scope, so blocked clients would be redirected forever; ` +
    'add its path to exceptPaths, leave it out of paths, or redirect to another site')
}

/**
 * Checks the add/remove edits of a patch. Throws DRAWBRIDGE_ERR_INVALID when
 * an edit is combined with a replacement of the same list, or names an entry
 * both to add and to remove (which one should win is not obvious).
 */
export function normalizeEdits (patch: MaintenancePatch): Partial<ListEdits> {
  const out: Partial<ListEdits> = {}
  for (const [field, add, remove] of LIST_EDITS) {
    const adding = patch[add]
    const removing = patch[remove]
    if (adding === undefined && removing === undefined) continue
    if (patch[field] !== undefined) throw invalid(`${field} replaces the whole list; it cannot be combined with ${adding === undefined ? remove : add}`)
    const check = field === 'allow' ? cidrList : pathList
    if (adding !== undefined) out[add] = check(adding, add)
    if (removing !== undefined) out[remove] = pathOrAny(removing, remove)
    const both = (out[add] ?? []).find((entry) => (out[remove] ?? []).includes(entry))
    if (both !== undefined) throw invalid(`${JSON.stringify(both)} is in both ${add} and ${remove}`)
  }
  return out
}

/** Removing an entry that is not in the list is not an error (idempotent), so removals are only type-checked. */
function pathOrAny (value: unknown, field: string): string[] {
  if (!Array.isArray(value)) throw invalid(`${field} must be array`)
  value.forEach((entry, i) => { if (typeof entry !== 'string') throw invalid(`${field}/${i} must be string`) })
  return value as string[]
}

/**
 * Applies the edits to the newest lists: additions are appended unless already
 * present, removals drop every equal entry. `pathsAdd` on an unscoped state
 * (paths null: every path) starts a scope; removing the last scoped path is a
 * 400, since falling back to every path would widen maintenance silently.
 */
export function applyEdits (m: MaintenanceState, edits: Partial<ListEdits>): MaintenanceState {
  const next = { ...m }
  for (const [field, add, remove] of LIST_EDITS) {
    const adding = edits[add]
    const removing = edits[remove]
    if (adding === undefined && removing === undefined) continue
    let list = [...(m[field] ?? [])]
    if (removing !== undefined) {
      const drop = new Set(removing)
      list = list.filter((entry) => !drop.has(entry))
    }
    if (adding !== undefined) {
      const have = new Set(list)
      for (const entry of adding) {
        if (!have.has(entry)) {
          have.add(entry)
          list.push(entry)
        }
      }
    }
    if (field === 'paths') {
      if (list.length === 0 && m.paths !== null) throw invalid('pathsRemove would leave no path prefix; set "paths": null to apply maintenance to every path')
      next.paths = list.length === 0 ? null : list
    } else {
      next[field] = list
    }
  }
  return next
}

/** Checks that need the merged state: the window must end after it starts; the redirect must not loop. */
export function checkMerged (next: MaintenanceState, options: MergedCheckOptions = {}): void {
  if (next.startsAt !== null && next.endsAt !== null && Date.parse(next.endsAt) <= Date.parse(next.startsAt)) {
    throw invalid(`endsAt (${next.endsAt}) must be after startsAt (${next.startsAt})`)
  }
  checkRedirectLoop(next, options.publicUrl)
}
