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

/** One named upstream as the admin API shows it (CONTRACT section 6). */
export interface UpstreamStatus {
  name: string
  url: string
  /** null until the first health check (or when checks are off: one `--upstream`). */
  healthy: boolean | null
  checkedAt: string | null
  /** Requests forwarded to it by this process and not finished. */
  inFlight: number
}

/**
 * What the admin side asks of the gateway's upstreams, implemented by
 * proxy/upstream-set.ts (the pools live with the gateway; the routes only read
 * them and ask for a check).
 */
export interface UpstreamsHandle {
  /** Configured names, in order: the first is active until a switch. */
  readonly names: readonly string[]
  status (): UpstreamStatus[]
  /** A health check made now; counts toward the upstream's health like a scheduled one. */
  check (name: string): Promise<{ ok: boolean, reason: string | null }>
  /** Requests held by a pause in this process. */
  readonly held: number
  /** Why the stored routing is not followed as written here, else null. */
  readonly problem: string | null
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
  /** The gateway's upstreams; set once the gateway is built (absent in an admin app built alone, in tests). */
  upstreams?: UpstreamsHandle
  /** In a `--workers N` worker: the channel to the cluster primary (state relay, cluster-wide metrics). */
  cluster?: IpcPeer
}
