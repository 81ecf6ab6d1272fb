import type { Logger } from 'pino'
import type { IpcPeer } from './ipc/ipc-peer.js'
import type { Config } from './config/schema.js'
import type { DrawbridgeEvents } from './events.js'
import type { Metrics } from './metrics.js'
import type { StateHolder } from './state/state-holder.js'
import type { StateStore } from './state/types.js'

/** Lets flags check `requires` without depending on the migrations module. */
export interface AppliedMigrations {
  isApplied (name: string): Promise<boolean>
}

/** What every part of a running gateway is built from; assembled once in server.ts. */
export interface AppContext {
  config: Config
  logger: Logger
  store: StateStore
  holder: StateHolder
  events: DrawbridgeEvents
  metrics: Metrics
  /** Null when no databaseUrl is configured. */
  appliedMigrations: AppliedMigrations | null
  /** In a `--workers N` worker: the channel to the cluster primary (state relay, cluster-wide metrics). */
  cluster?: IpcPeer
}
