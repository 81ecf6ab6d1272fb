import { randomUUID } from 'node:crypto'
import type { Logger } from 'pino'
import { auditChange } from './audit-diff.js'
import { redactSecrets } from './redact.js'
import type { StateStore } from './types.js'

/**
 * Records who changed what: the fields that changed (see audit-diff.ts), with
 * secrets redacted after the comparison, so a rotation still shows. Audit is best effort by design: the change itself
 * is already committed, so a failed audit write is logged, never thrown.
 */
export async function recordAudit (
  ctx: { store: StateStore, logger: Logger },
  entry: { actor: string, action: string, target: string, before: unknown, after: unknown }
): Promise<void> {
  const change = auditChange(entry.before, entry.after)
  try {
    await ctx.store.appendAudit({
      id: randomUUID(),
      at: new Date().toISOString(),
      actor: entry.actor,
      action: entry.action,
      target: entry.target,
      before: redactSecrets(change.before),
      after: redactSecrets(change.after)
    })
  } catch (err) {
    ctx.logger.error({ err, action: entry.action, target: entry.target }, 'audit write failed')
  }
}
