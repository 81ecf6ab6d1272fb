import type { AppliedRow } from './migration-db.js'
import type { MigrationFile } from './migration-files.js'

export interface PendingMigration {
  name: string
  checksum: string
  maintenance: boolean
  noTransaction: boolean
  activates: string[]
}

export interface DriftedMigration {
  name: string
  appliedChecksum: string
  currentChecksum: string
  appliedAt: string
}

export interface MigrationPlan {
  applied: Array<AppliedRow & { drifted: boolean }>
  pending: MigrationFile[]
  drifted: DriftedMigration[]
  /** Applied, but the file is gone from the directory (reported, not blocking). */
  missing: string[]
}

/**
 * Compares the directory with the tracking table. Checksums are compared on
 * every call: an applied file that changed is "drifted", because what runs in
 * the next environment would no longer be what ran here.
 */
export function planMigrations (files: MigrationFile[], applied: AppliedRow[]): MigrationPlan {
  const byName = new Map(applied.map((a) => [a.name, a]))
  const fileNames = new Set(files.map((f) => f.name))
  const drifted: DriftedMigration[] = []
  const pending: MigrationFile[] = []
  for (const file of files) {
    const row = byName.get(file.name)
    if (row === undefined) pending.push(file)
    else if (row.checksum !== file.checksum) {
      drifted.push({ name: file.name, appliedChecksum: row.checksum, currentChecksum: file.checksum, appliedAt: row.appliedAt })
    }
  }
  const driftedNames = new Set(drifted.map((d) => d.name))
  return {
    applied: applied.map((a) => ({ ...a, drifted: driftedNames.has(a.name) })),
    pending,
    drifted,
    missing: applied.filter((a) => !fileNames.has(a.name)).map((a) => a.name)
  }
}

export function describePending (file: MigrationFile): PendingMigration {
  return {
    name: file.name,
    checksum: file.checksum,
    maintenance: file.directives.maintenance,
    noTransaction: file.directives.noTransaction,
    activates: file.directives.activates
  }
}

/** What a run applies: every pending migration, or the first `step` of them. */
export function selectPending (plan: MigrationPlan, step: number | null): MigrationFile[] {
  return step === null ? plan.pending : plan.pending.slice(0, step)
}
