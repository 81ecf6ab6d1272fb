import type { FlagRollout, FlagRule, FlagVariant } from './rule-schema.js'

/**
 * The shared state every replica holds in memory. One document, versioned as a
 * whole: a replica applies a snapshot only when its version is newer than the
 * one it has, so a late pub/sub message can never roll state back.
 */

export type MaintenanceMode = 'full' | 'read-only'

/**
 * Bounds of the window's answer fields, shared by the state schema (what a
 * store may hold), the admin API and the CLI. A status below 400 would tell
 * crawlers and caches the page is the content; 599 is the last code Node's
 * status line accepts.
 */
export const MAINTENANCE_STATUS_RANGE = { minimum: 400, maximum: 599 } as const
export const MAX_REFRESH_SECONDS = 86_400
/** A page template is a document, not an application: 256 KiB of text. */
export const MAX_PAGE_CHARS = 262_144

export interface MaintenanceState {
  enabled: boolean
  message: string | null
  /** Seconds for Retry-After; when null the header is derived from endsAt. */
  retryAfter: number | null
  /** ISO timestamps of a scheduled window; maintenance applies only inside it. */
  startsAt: string | null
  endsAt: string | null
  /** IPv4/IPv6 CIDRs (or bare addresses) let through while maintenance is on. */
  allow: string[]
  /** Path prefixes never blocked (health checks, webhooks...). */
  exceptPaths: string[]
  /** When set, maintenance applies only to these path prefixes. */
  paths: string[] | null
  mode: MaintenanceMode
  /** When set, blocked requests get a 307 to this URL instead of the page. */
  redirect: string | null
  /** HTTP status of the maintenance answer; null (or absent, in older states) is 503. */
  status?: number | null
  /** Seconds for a `Refresh` header on the page, so browsers reload it by themselves (Laravel's `--refresh`); null: none. */
  refresh?: number | null
  /** A page template for this window (text with {{message}} slots), served by every replica; null: the configured page. */
  page?: string | null
  /** Bypass secret: `GET /<secret>` sets the bypass cookie. */
  secret: string | null
  /**
   * Generation of the secret: a random id written each time the secret is
   * set, which bypass cookies are bound to (see bypass-cookie.ts). Absent in
   * states written by older versions.
   */
  secretId?: string | null
  updatedAt: string | null
  updatedBy: string | null
}

export type { FlagCondition, FlagRollout, FlagRule, FlagVariant } from './rule-schema.js'

export interface FlagGate {
  paths: string[]
  status: number
}

export interface Flag {
  key: string
  description: string | null
  enabled: boolean
  rollout: FlagRollout | null
  variants: FlagVariant[] | null
  rules: FlagRule[] | null
  gate: FlagGate | null
  /** Name of a migration that must be applied before the flag can be enabled. */
  requires: string | null
  /** Flags that must hold first; absent in states written before they existed. */
  prerequisites?: FlagPrerequisite[] | null
  /** A ramp in time order; absent in states written before it existed. */
  schedule?: FlagScheduleStep[] | null
  /**
   * Who variant choices hash (as a rollout's `stickiness`); absent: the
   * stickiness of the rollout that let the user in, else the targeting key.
   * Absent in states written before it existed.
   */
  variantStickiness?: string | null
  createdAt: string
  updatedAt: string
}

/**
 * Another flag that must evaluate a given way for the same user before this
 * one is evaluated at all (Unleash's dependencies, LaunchDarkly's
 * prerequisites): on (`enabled: true`), off, or serving one variant.
 */
export interface FlagPrerequisite {
  flag: string
  enabled?: boolean
  variant?: string
}

/** From `at` on, the flag is `enabled` and/or rolled out to `percentage` (until the next step). */
export interface FlagScheduleStep {
  at: string
  percentage?: number
  enabled?: boolean
}

export interface FlagOverride {
  enabled?: boolean
  variant?: string
}

/** A share of identities sent to another upstream than the active one. */
export interface CanaryRoute {
  upstream: string
  /** 0..100: identities whose canary bucket (1..100) is at most this go to `upstream`. */
  percentage: number
}

/**
 * Which named upstream gets the traffic (CONTRACT section 6). Lives beside the
 * maintenance state, so every replica switches with the same version bump.
 */
export interface RoutingState {
  /** Name of the active upstream; null: the first configured one (a store that never switched). */
  active: string | null
  canary: CanaryRoute | null
  /** While true, requests that would be proxied are held (see upstreams/pause-queue.ts). */
  paused: boolean
  /** A held request waits at most this long, then gets the maintenance answer. */
  pauseMaxMs: number
  updatedAt: string | null
  updatedBy: string | null
}

/** Bounds of pauseMaxMs: holding a request for longer than ten minutes outlives every client's patience. */
export const PAUSE_MAX_MS_RANGE = { minimum: 1, maximum: 600_000 } as const
export { UPSTREAM_NAME_PATTERN } from '../config/upstream-list.js'

export function defaultRouting (): RoutingState {
  return { active: null, canary: null, paused: false, pauseMaxMs: 30_000, updatedAt: null, updatedBy: null }
}

/**
 * Where a migration run stands while it holds the maintenance window (CONTRACT
 * section 8): written by the run as each migration starts, cleared when it
 * ends, so every replica's `/__drawbridge/status` and page can show it.
 */
export interface MigrationProgress {
  runId: string
  /** 1-based: the migration running now. */
  step: number
  of: number
  /** Its name. */
  current: string
  /** When the run should end, from a rehearsal's measured durations (ISO); null without one. */
  endsAt: string | null
  updatedAt: string
}

export interface SharedState {
  /** Monotonic; bumped by every write. */
  version: number
  maintenance: MaintenanceState
  /** Absent in states written before upstreams existed: defaultRouting(). */
  routing?: RoutingState
  /** A migration run's progress while it holds the window; null or absent otherwise (and in older states). */
  progress?: MigrationProgress | null
  flags: Record<string, Flag>
  /** flag key → user id → override */
  overrides: Record<string, Record<string, FlagOverride>>
  /** HMAC key for bypass cookies, generated once per store unless configured. */
  signingKey: string
}

export interface AuditEntry {
  id: string
  at: string
  actor: string
  action: string
  target: string
  before: unknown
  after: unknown
}

export interface StoreHealth {
  ok: boolean
  /** Why the store is not ok, for /readyz. */
  reason: string | null
}

/**
 * Where the shared state lives. The memory/file store and the Redis store both
 * implement it; one contract test suite runs against each.
 */
export interface StateStore {
  /** Read the current state, creating the initial document when none exists. */
  load (): Promise<SharedState>
  /**
   * Atomic read-modify-write: `mutate` gets a private copy of the newest state
   * and returns the next one (or throws to abort, leaving state unchanged).
   * The store bumps `version`, persists, and publishes to every replica.
   */
  update (mutate: (draft: SharedState) => SharedState | Promise<SharedState>): Promise<SharedState>
  /** Called with every newer snapshot seen (own writes, pub/sub, resync). */
  subscribe (listener: (state: SharedState) => void): () => void
  appendAudit (entry: AuditEntry): Promise<void>
  /** Newest first. */
  listAudit (limit: number): Promise<AuditEntry[]>
  health (): StoreHealth
  /**
   * Optional: waits for the first connection to the store and throws
   * ConfigError when a setting explains its failure (a CA that does not sign
   * the server's certificate, refused credentials), so the process stops
   * before it listens. A store that is merely unreachable resolves.
   */
  verify? (): Promise<void>
  close (): Promise<void>
}

export function defaultMaintenance (): MaintenanceState {
  return {
    enabled: false,
    message: null,
    retryAfter: null,
    startsAt: null,
    endsAt: null,
    allow: [],
    exceptPaths: [],
    paths: null,
    mode: 'full',
    redirect: null,
    status: null,
    refresh: null,
    page: null,
    secret: null,
    secretId: null,
    updatedAt: null,
    updatedBy: null
  }
}
