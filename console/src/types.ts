/** The admin API's JSON, as the console reads it (CONTRACT sections 3, 5, 6, 8). */

export type Role = 'admin' | 'read'

export interface SessionInfo {
  actor: string
  role: Role
  open: boolean
  expiresAt: string | null
  csrf: string | null
  version: string
}

export interface Maintenance {
  enabled: boolean
  message: string | null
  retryAfter: number | null
  startsAt: string | null
  endsAt: string | null
  allow: string[]
  exceptPaths: string[]
  paths: string[] | null
  mode: 'full' | 'read-only'
  redirect: string | null
  status: number
  refresh: number | null
  page: string | null
  secret: string | null
  bypassUrl: string | null
  updatedAt: string | null
  updatedBy: string | null
}

export interface Variant { name: string, weight: number, value?: unknown }

export interface Rule {
  /** Absent on a rule that only has `conditions` (several attributes). */
  attribute?: string
  in?: string[]
  notIn?: string[]
  startsWith?: string[]
  endsWith?: string[]
  contains?: string[]
  caseInsensitive?: boolean
  eq?: number
  lt?: number
  lte?: number
  gt?: number
  gte?: number
  semverLt?: string
  semverLte?: string
  semverGt?: string
  semverGte?: string
  semverEq?: string
  cidr?: string[]
  enabled?: boolean
  variant?: string
}

export interface Prerequisite { flag: string, enabled?: boolean, variant?: string }

export interface Flag {
  key: string
  description: string | null
  enabled: boolean
  rollout: { percentage: number, groupId?: string } | null
  variants: Variant[] | null
  rules: Rule[] | null
  gate: { paths: string[], status: number } | null
  requires: string | null
  prerequisites: Prerequisite[] | null
  schedule: Array<{ at: string, percentage?: number, enabled?: boolean }> | null
  inForce?: { enabled: boolean, percentage: number | null, step: number | null, nextAt: string | null }
  createdAt: string
  updatedAt: string
  lastEvaluatedAt?: string | null
  stale?: { reason: string, servedValue: string | null, days: number }
}

export interface Override { key: string, userId: string, enabled?: boolean, variant?: string }

export interface ResolvedFlag {
  key: string
  enabled: boolean
  value: unknown
  variant: string
  reason: string
  hasOverride: boolean
  errorCode?: string
}

export interface Finding {
  migration: string
  rule: string
  severity: 'high' | 'medium' | 'low'
  line: number
  statement: string
  message: string
  fix: string
}

export interface MigrationStatus {
  migrationsDir: string
  applied: Array<{ name: string, checksum: string, appliedAt: string, drifted: boolean, durationMs?: number | null }>
  pending: Array<{ name: string, checksum: string, maintenance: boolean, noTransaction: boolean, activates: string[] }>
  drifted: Array<{ name: string, appliedChecksum: string, currentChecksum: string, appliedAt: string }>
  missing: string[]
  locked: boolean
  lastRun: { id: string, status: RunStatus, actor: string, createdAt: string, finishedAt: string | null, dryRun: boolean } | null
  backup: { file: string, sizeBytes: number, runId: string, createdAt: string, exists: boolean, restore: string } | null
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted'

export interface RunStep {
  kind: string
  name: string
  status: string
  startedAt: string | null
  finishedAt: string | null
  durationMs: number | null
  attempts: number
  detail: string | null
}

export interface RunLogLine { at: string, level: 'info' | 'warn' | 'error', msg: string }

export interface Run {
  id: string
  status: RunStatus
  actor: string
  options: Record<string, unknown> & { dryRun: boolean }
  steps: RunStep[]
  log: RunLogLine[]
  findings: Finding[]
  error: { code: string, message: string } | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  durationMs: number | null
}

export interface Rehearsal {
  id: string
  status: 'queued' | 'running' | 'succeeded' | 'failed'
  database: string
  migrations: Array<{
    name: string
    status: 'applied' | 'failed'
    ms: number
    /** What the measured locks mean for traffic ("blocks writes to orders for 4.2 s"); absent from older gateways. */
    verdict?: string
    statements: Array<{ line: number, ms: number, rewrote: boolean, locks: Array<{ relation: string, mode: string, ms: number }> }>
  }>
  findings: Finding[]
  error?: { code?: string, message: string } | string | null
}

export interface Upstream { name: string, url: string, healthy: boolean | null, checkedAt: string | null, inFlight: number }

export interface Routing {
  active: string
  canary: { upstream: string, percentage: number } | null
  paused: boolean
  pauseMaxMs: number
  updatedAt: string | null
  updatedBy: string | null
}

export interface UpstreamsView { upstreams: Upstream[], routing: Routing, held: number, problem: string | null }

export interface AuditEntry {
  id: string
  at: string
  actor: string
  action: string
  target: string
  before: unknown
  after: unknown
}
