import { Type, type Static } from '../input/typebox.js'
import type { Finding } from './analyzer.js'

/** Body of `POST /v1/migrations/rehearsals` (CONTRACT section 8). */
export const RehearsalBodySchema = Type.Object({
  source: Type.Optional(Type.Union([Type.Literal('live'), Type.Literal('backup')], {
    description: 'live (default): a read-only pg_dump of the application database; backup: a pg_dump -Fc file in backupDir.'
  })),
  backup: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'With source backup: the file name in backupDir (as `migrate status` shows it).' })),
  keep: Type.Optional(Type.Boolean({ description: 'Keep the scratch database afterwards (default: dropped).' })),
  statementTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'As for a run: statement_timeout of each statement.' })),
  lockTimeoutMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000, description: 'As for a run: lock_timeout of each statement.' }))
}, { additionalProperties: false })

export type RehearsalBody = Static<typeof RehearsalBodySchema>

export type RehearsalStatus = 'queued' | 'running' | 'succeeded' | 'failed'

/** A table lock one statement took, and how long it was held (see lock-observer.ts for what this can miss). */
export interface RehearsalLock {
  relation: string
  mode: string
  ms: number
}

export interface RehearsalStatement {
  /** 1-based line of the statement in the file. */
  line: number
  ms: number
  /** The statement gave a table a new file node: it rewrote the table. */
  rewrote: boolean
  /** The tables it rewrote. */
  rewritten: string[]
  locks: RehearsalLock[]
  /** The statement's error, when it failed. */
  error?: string
}

export interface RehearsalMigration {
  name: string
  /** The file's checksum as rehearsed: a run requiring a rehearsal matches on it. */
  checksum: string
  status: 'applied' | 'failed'
  ms: number
  noTransaction: boolean
  statements: RehearsalStatement[]
  /** One line for a change ticket: "blocks reads and writes to orders for 4.2 s; rewrote orders". */
  verdict: string
  error: string | null
}

export interface RehearsalLogLine {
  at: string
  level: 'info' | 'warn' | 'error'
  msg: string
}

export interface RehearsalRecord {
  id: string
  status: RehearsalStatus
  /** The scratch database's name. */
  database: string
  source: 'live' | 'backup'
  /** With source backup: the file name. */
  backup: string | null
  keep: boolean
  /** How often pg_locks was polled: a lock held for less than this, outside a transaction, can go unseen. */
  lockPollMs: number
  /** Whether the scratch database was dropped (false while it runs, and with keep). */
  dropped: boolean
  /** The migrations applied to the scratch database, in order, as each ends. */
  migrations: RehearsalMigration[]
  /** How many migrations were pending on the copy (null until it is restored). */
  pending: number | null
  findings: Finding[]
  error: { code: string, message: string } | null
  log: RehearsalLogLine[]
  actor: string
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  durationMs: number | null
}

export type RehearsalEvent =
  | { type: 'status', status: RehearsalStatus }
  | { type: 'log', line: RehearsalLogLine }
  | { type: 'migration', index: number, migration: RehearsalMigration }
  | { type: 'end', rehearsal: RehearsalRecord }

export function isRehearsalDone (status: RehearsalStatus): boolean {
  return status === 'succeeded' || status === 'failed'
}
