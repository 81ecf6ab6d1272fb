import type { Finding } from './analyzer.js'

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted'

/** A run's options with every default filled in. */
export interface RunOptions {
  dryRun: boolean
  step: number | null
  maintenance: 'auto' | 'always' | 'never'
  /** Hold traffic (a routing pause) around the migrations instead of opening a maintenance window. */
  pause: boolean
  backup: boolean
  allowDangerous: boolean
  onFailure: 'keep' | 'restore'
  statementTimeoutMs: number
  lockTimeoutMs: number
  lockRetries: number
  message: string | null
  retryAfter: number | null
  /** Refuse to start without a successful rehearsal of exactly these files in the last 24 h. */
  requireRehearsal: boolean
}

export const DEFAULT_RUN_OPTIONS: RunOptions = {
  dryRun: false,
  step: null,
  maintenance: 'auto',
  pause: false,
  backup: false,
  allowDangerous: false,
  onFailure: 'keep',
  // Long enough for a real backfill, short enough that a stuck run ends.
  statementTimeoutMs: 3_600_000,
  // Waiting longer than this for a lock queues every query of the app behind us.
  lockTimeoutMs: 5000,
  lockRetries: 3,
  message: null,
  retryAfter: null,
  requireRehearsal: false
}

export type StepKind = 'backup' | 'maintenance' | 'pause' | 'migration' | 'flag'
/** `interrupted`: the step was running when its runner stopped (process killed, shutdown); `detail` says what to check. */
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'rolled-back' | 'interrupted'

export interface RunStep {
  kind: StepKind
  /** Migration name, flag key, 'open'/'close'/'restore' for maintenance, 'hold'/'release'/'restore' for a pause, 'pg_dump' for the backup. */
  name: string
  status: StepStatus
  startedAt: string | null
  finishedAt: string | null
  durationMs: number | null
  /** Tries, for migrations (retries after lock_timeout). */
  attempts: number
  /** What happened, in one line. */
  detail: string | null
}

export interface RunLogLine {
  at: string
  level: 'info' | 'warn' | 'error'
  msg: string
}

export interface RunRecord {
  id: string
  status: RunStatus
  actor: string
  options: RunOptions
  steps: RunStep[]
  log: RunLogLine[]
  findings: Finding[]
  error: { code: string, message: string } | null
  backup: { file: string, sizeBytes: number } | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  durationMs: number | null
}

export function isTerminal (status: RunStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'interrupted'
}
