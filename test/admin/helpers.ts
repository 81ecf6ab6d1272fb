import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import { buildAdmin } from '../../src/admin/app.js'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import type { AppContext } from '../../src/context.js'
import { DrawbridgeEvents } from '../../src/events.js'
import { createLogger } from '../../src/logger.js'
import { Metrics } from '../../src/metrics.js'
import { createStore } from '../../src/state/create-store.js'
import { StateHolder } from '../../src/state/state-holder.js'

export const ADMIN_TOKEN = 'admin-token-0123456789abcdef'
export const READ_TOKEN = 'read-token-0123456789abcdef'
export const BOT_TOKEN = 'deploy-bot-token-0123456789'
export const VIEWER_TOKEN = 'viewer-token-0123456789abcd'

export const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` })

/**
 * An admin app over a real embedded store (or Redis, when the config says so),
 * for `app.inject`. Settings are flags, as a user would give them; `extra`
 * adds what only a config file can hold (named tokens).
 */
export async function buildTestAdmin (t: Test, flags: string[] = [], extra: Partial<Config> = {}): Promise<{ app: FastifyInstance, ctx: AppContext }> {
  const upstream = flags.includes('--upstreams') ? [] : ['--upstream', 'http://127.0.0.1:9']
  const config = { ...loadConfig([...upstream, ...flags], {}), ...extra } as Config
  const logger = createLogger('silent')
  const store = createStore(config, logger)
  const holder = new StateHolder(store, logger, 100)
  await holder.start()
  const ctx: AppContext = { config, logger, store, holder, events: new DrawbridgeEvents(), metrics: new Metrics(), appliedMigrations: null }
  const app = await buildAdmin(ctx, { gatewayAddress: () => '127.0.0.1:8080' })
  t.teardown(async () => {
    await app.close()
    holder.stop()
    await store.close()
  })
  return { app, ctx }
}
