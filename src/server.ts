import type { AddressInfo } from 'node:net'
import type { IpcPeer } from './ipc/ipc-peer.js'
import { serveWorkerMetrics } from './cluster/metrics-gather.js'
import type { Logger } from 'pino'
import { LazyAdminPort } from './admin/lazy-admin.js'
import { formatHostPort, parseHostPort } from './config/host-port.js'
import { settingName } from './config/load.js'
import { namedUpstreams } from './config/upstream-list.js'
import type { Config } from './config/schema.js'
import type { AppContext } from './context.js'
import { ConfigError } from './errors.js'
import { DrawbridgeEvents } from './events.js'
import { closeFlagRuntime } from './flags/flag-runtime.js'
import { createRequestFlags } from './flags/request-flags.js'
import { Metrics } from './metrics.js'
import { buildGateway, type Gateway } from './proxy/gateway.js'
import { createUpstreamSet } from './proxy/upstream-set.js'
import { upstreamCa } from './proxy/upstream-tls.js'
import { createStore, stateCacheFor } from './state/create-store.js'
import { packageVersion } from './version.js'
import { StateHolder } from './state/state-holder.js'
import { startWebhooks, type WebhooksHandle } from './webhooks/start-webhooks.js'

export interface RunningDrawbridge {
  /** Bound `host:port` of the gateway (the real port when 0 was asked for). */
  gatewayAddress: string
  adminAddress: string
  ctx: AppContext
  /** Stop accepting, drain in-flight requests (bounded by drainTimeoutMs), close the admin port and the store. Idempotent. */
  close (): Promise<void>
  /**
   * SIGHUP: apply what can change without a restart (the page template, from
   * `next.page` when a re-read config is given) and log the settings that
   * changed but need one. Never throws and never drops a connection: a page
   * that cannot be read is logged and the old one kept.
   */
  reload (next?: Config): void
}

function withoutCredentials (url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  const parsed = new URL(url)
  parsed.username = ''
  parsed.password = ''
  return parsed.toString()
}

/** Keys whose values differ between two configs (compared as JSON). */
function changedSettings (a: Config, b: Config): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  return [...keys].filter((key) => JSON.stringify((a as Record<string, unknown>)[key]) !== JSON.stringify((b as Record<string, unknown>)[key])).sort()
}

/** A listen failure the user can fix in their settings, named as they gave it. */
function listenError (err: unknown, setting: string, address: string): unknown {
  const code = (err as NodeJS.ErrnoException).code
  const host = parseHostPort(address)?.host ?? address
  switch (code) {
    case 'EADDRINUSE': return new ConfigError(setting, `${address} is already in use`)
    case 'EACCES': return new ConfigError(setting, `permission denied to listen on ${address} (ports below 1024 need privileges)`)
    case 'EADDRNOTAVAIL': return new ConfigError(setting, `${host} is not an address of this machine`)
    case 'ENOTFOUND':
    case 'EAI_AGAIN': return new ConfigError(setting, `cannot resolve host ${host}`)
    default: return err
  }
}

async function listenAdmin (admin: LazyAdminPort, config: Config): Promise<string> {
  const { host, port } = parseHostPort(config.adminListen) as { host: string, port: number }
  let bound: AddressInfo
  try {
    bound = await admin.listen(host, port)
  } catch (err) {
    throw listenError(err, settingName(config, 'adminListen'), config.adminListen)
  }
  return formatHostPort(bound.address, bound.port)
}

async function listenGateway (gateway: Gateway, config: Config): Promise<string> {
  const { host, port } = parseHostPort(config.listen) as { host: string, port: number }
  try {
    return await gateway.listen(host, port)
  } catch (err) {
    throw listenError(err, settingName(config, 'listen'), config.listen)
  }
}

/** The ready line is the contract scripts wait for, so it is written even when the log level would hide info. */
export function announceReady (logger: Logger, config: Config, gatewayAddress: string, adminAddress: string, extra: Record<string, unknown> = {}): void {
  logger.child({}, { level: 'info' }).info({
    gateway: gatewayAddress,
    admin: adminAddress,
    ...(config.upstreams === undefined ? { upstream: withoutCredentials(config.upstream) } : { upstreams: namedUpstreams(config).map((u) => `${u.name}=${withoutCredentials(u.url) ?? ''}`) }),
    ...extra
  }, 'drawbridge ready')
}

/**
 * Assembles a running gateway: the store, the in-memory state holder, the
 * gateway port and the admin port. Throws ConfigError (before or instead of
 * listening) for anything the user must fix; whatever was already opened is
 * closed again first.
 */
/** What one process serves; with `--workers N` only the first worker runs the admin port (see cli/cluster.ts). */
export interface ServeRole {
  /** Run the admin port, and with it webhooks and migration runs. */
  admin: boolean
  /** Log the "drawbridge ready" line (the cluster primary logs it once for all workers). */
  announce: boolean
  /** In a cluster worker: the channel to the primary (its store when it holds the embedded one, and the cluster-wide scrape). */
  primary?: IpcPeer | undefined
}

export async function startDrawbridge (config: Config, logger: Logger, role: ServeRole = { admin: true, announce: true }): Promise<RunningDrawbridge> {
  const cache = stateCacheFor(config, logger)
  const store = createStore(config, logger, role.primary, cache)
  try {
    // A store that cannot work with these settings (an untrusted certificate,
    // refused credentials) stops the process here, before it listens.
    await store.verify?.()
  } catch (err) {
    await store.close()
    throw err
  }
  const holder = new StateHolder(store, logger.child({ component: 'state' }), undefined, cache)
  // pg loads only when migrations are configured (idle memory of a plain gateway).
  const appliedMigrations = config.databaseUrl === undefined
    ? null
    : (await import('./migrations/applied-migrations.js')).createAppliedMigrations(config.databaseUrl, config.migrationsDir)
  const ctx: AppContext = {
    config,
    logger,
    store,
    holder,
    events: new DrawbridgeEvents(),
    metrics: new Metrics(),
    appliedMigrations
  }
  ctx.metrics.buildInfo.set(1, { version: packageVersion(), node: process.version })
  if (role.primary !== undefined) {
    ctx.cluster = role.primary
    serveWorkerMetrics(role.primary, ctx)
  }
  // Never throws: an unreachable store is retried in the background and the
  // gateway serves the cached state (stateCache), or else follows failPolicy,
  // until the first state arrives.
  await holder.start()

  let gateway: Gateway | null = null
  let admin: LazyAdminPort | null = null
  let webhooks: WebhooksHandle | null = null
  let gatewayAddress = ''
  let adminAddress = ''
  const shutdown = async (drainMs: number): Promise<void> => {
    await Promise.allSettled([gateway?.close(drainMs), admin?.close()])
    // Every process, not only the one with the admin port: a cluster worker's
    // last flag-usage counts are flushed here or lost.
    await closeFlagRuntime(ctx)
    // After the ports close (no new events), before the store (outcomes are audited there).
    await webhooks?.close()
    holder.stop()
    await holder.cacheWritten()
    await appliedMigrations?.close().catch(() => {})
    await store.close()
  }

  try {
    // First: a webhook that cannot work is a ConfigError, raised before anything listens.
    if (role.admin) webhooks = startWebhooks(ctx)
    // Built here rather than in the gateway so that only the process with the admin port audits health changes.
    const upstreams = createUpstreamSet(ctx, logger.child({ component: 'gateway' }), { audit: role.admin, ca: upstreamCa(config) })
    ctx.upstreams = upstreams
    gateway = await buildGateway(ctx, { requestFlags: createRequestFlags(ctx), upstreams })
    if (role.admin) {
      admin = new LazyAdminPort(ctx, { gatewayAddress: () => gatewayAddress })
      await admin.prepare()
    }
    gatewayAddress = await listenGateway(gateway, config)
    if (admin !== null) adminAddress = await listenAdmin(admin, config)
  } catch (err) {
    await shutdown(0)
    throw err
  }

  if (role.announce) announceReady(logger, config, gatewayAddress, adminAddress)

  let closing: Promise<void> | null = null
  let page = config.page
  return {
    gatewayAddress,
    adminAddress,
    ctx,
    reload (next) {
      const wanted = next === undefined ? page : next.page
      try {
        gateway?.reloadPage(wanted)
        page = wanted
        logger.info({ page: wanted ?? 'default' }, 'reloaded the maintenance page template')
      } catch (err) {
        logger.error({ problem: (err as Error).message }, 'reload: keeping the previous page template')
      }
      if (next !== undefined) {
        const restart = changedSettings(config, next).filter((key) => key !== 'page')
        // Names only: values may be credentials.
        if (restart.length > 0) logger.warn({ settings: restart }, 'reload: these changed settings take effect only after a restart')
      }
    },
    async close () {
      closing ??= (async () => {
        logger.info({ drainTimeoutMs: config.drainTimeoutMs }, 'shutting down: draining in-flight requests')
        await shutdown(config.drainTimeoutMs)
        logger.info('drawbridge stopped')
      })()
      await closing
    }
  }
}
