import { randomUUID } from 'node:crypto'
import type { AppContext } from '../context.js'

/**
 * Records who changed what. Audit is best effort by design: the change itself
 * is already committed, so a failed audit write is logged, never thrown.
 */
export async function recordAudit (
  ctx: Pick<AppContext, 'store' | 'logger'>,
  entry: { actor: string, action: string, target: string, before: unknown, after: unknown }
): Promise<void> {
  try {
    await ctx.store.appendAudit({ id: randomUUID(), at: new Date().toISOString(), ...entry })
  } catch (err) {
    ctx.logger.error({ err, action: entry.action, target: entry.target }, 'audit write failed')
  }
}
