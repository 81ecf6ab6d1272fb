/**
 * Just enough of SemVer 2.0.0 for rule comparisons: parse and precedence
 * (section 11), pre-releases included, build metadata ignored. No dependency:
 * rules are compiled once per state change and compared on the request path.
 */

export interface SemVer {
  major: number
  minor: number
  patch: number
  /** Pre-release identifiers; numeric ones as numbers. Empty for a release. */
  pre: Array<string | number>
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/

/**
 * Parses `1.2.3`, `1.2.3-rc.1`, `1.2.3+build.5`; null when invalid. `v1.2.3` is
 * not a semantic version (SemVer 2.0.0), and Unleash refuses it too: a rule and
 * an Unleash SDK must agree on it.
 */
export function parseSemver (input: string): SemVer | null {
  if (input.length > 256) return null
  const m = SEMVER.exec(input.trim())
  if (m === null) return null
  const major = Number(m[1])
  const minor = Number(m[2])
  const patch = Number(m[3])
  if (!Number.isSafeInteger(major) || !Number.isSafeInteger(minor) || !Number.isSafeInteger(patch)) return null
  const pre = m[4] === undefined ? [] : m[4].split('.').map((id) => /^\d+$/.test(id) ? Number(id) : id)
  return { major, minor, patch, pre }
}

function compareIdentifiers (a: string | number, b: string | number): number {
  const an = typeof a === 'number'
  const bn = typeof b === 'number'
  // Numeric identifiers always have lower precedence than alphanumeric ones.
  if (an && !bn) return -1
  if (!an && bn) return 1
  if (a === b) return 0
  return a < b ? -1 : 1
}

/** Precedence: -1, 0 or 1. */
export function compareSemver (a: SemVer, b: SemVer): number {
  if (a.major !== b.major) return a.major < b.major ? -1 : 1
  if (a.minor !== b.minor) return a.minor < b.minor ? -1 : 1
  if (a.patch !== b.patch) return a.patch < b.patch ? -1 : 1
  // A release outranks any of its pre-releases.
  if (a.pre.length === 0) return b.pre.length === 0 ? 0 : 1
  if (b.pre.length === 0) return -1
  const n = Math.min(a.pre.length, b.pre.length)
  for (let i = 0; i < n; i++) {
    const c = compareIdentifiers(a.pre[i] as string | number, b.pre[i] as string | number)
    if (c !== 0) return c
  }
  if (a.pre.length === b.pre.length) return 0
  return a.pre.length < b.pre.length ? -1 : 1
}
