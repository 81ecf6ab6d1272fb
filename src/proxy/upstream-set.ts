import type { Logger } from 'pino'
import { namedUpstreams } from '../config/upstream-list.js'
import type { AppContext, UpstreamsHandle, UpstreamStatus } from '../context.js'
import { recordAudit } from '../state/audit.js'
import type { SharedState } from '../state/types.js'
import { HealthMonitor } from '../upstreams/health-monitor.js'
import { compileRouting, type CompiledRouting } from '../upstreams/routing.js'
import { createForwarder, upstreamPath, type Forwarder } from './forwarder.js'
import { createUpgradeProxy, type Tunnel, type UpgradeProxy } from './websocket.js'

/**
 * The gateway's upstreams: for each configured one, its own keep-alive pool
 * (forwarder), WebSocket proxy and health monitor; and the routing state
 * compiled against them, swapped in one assignment on every change so a
 * request reads one consistent routing. A request in flight holds its
 * forwarder, so after a switch it finishes where it started; a tunnel holds
 * its sockets, so it stays.
 */

export interface UpstreamSet extends UpstreamsHandle {
  readonly forwarders: readonly Forwarder[]
  readonly upgrades: readonly UpgradeProxy[]
  /** Every open tunnel, whatever its upstream. */
  readonly tunnels: ReadonlySet<Tunnel>
  /** Current routing; read on every request. */
  readonly routing: CompiledRouting
  /** Called after the routing changed from paused to not paused. */
  onResume (listener: () => void): void
  /** Held requests are counted by whoever holds them (the gateway's pause queue). */
  countHeld (read: () => number): void
  close (): Promise<void>
  destroy (): Promise<void>
}

export interface UpstreamSetOptions {
  /** Write health changes to the audit log (the process with the admin port does, so N workers do not write N entries). */
  audit: boolean
  ca?: string[] | undefined
}

export function createUpstreamSet (ctx: AppContext, log: Logger, options: UpstreamSetOptions): UpstreamSet {
  const { config, metrics } = ctx
  const list = namedUpstreams(config)
  const names = list.map((u) => u.name)
  const tunnels = new Set<Tunnel>()
  const forwarders = list.map((u) => createForwarder(u.name, u.url, config, log, metrics, options.ca))
  const upgrades = forwarders.map((f) => createUpgradeProxy(f.upstream, {
    upstreamTimeoutMs: config.upstreamTimeoutMs, idleTimeoutMs: config.tunnelIdleTimeoutMs, logger: log, ca: options.ca, tunnels
  }))
  // Checks run for named upstreams; one `--upstream` keeps today's behaviour (no traffic of our own to the app).
  const checking = config.upstreams !== undefined
  const monitors = forwarders.map((f) => new HealthMonitor(f.pool, {
    path: upstreamPath(f.upstream.basePath, config.healthPath),
    host: f.upstream.host,
    timeoutMs: config.upstreamTimeoutMs,
    intervalMs: config.healthIntervalMs,
    rise: config.healthyThreshold,
    fall: config.unhealthyThreshold
  }, (healthy, reason) => {
    metrics.upstreamHealthy.set(healthy ? 1 : 0, { upstream: f.name })
    if (healthy) log.info({ upstream: f.name }, 'upstream is healthy')
    else log.warn({ upstream: f.name, reason }, 'upstream is unhealthy')
    if (options.audit) {
      void recordAudit(ctx, { actor: 'health-check', action: 'upstream.health', target: `upstream:${f.name}`, before: { healthy: !healthy }, after: { healthy, reason } })
    }
  }))
  if (checking) for (const m of monitors) m.start()

  let routing = compileRouting(undefined, names)
  let lastStored: SharedState['routing'] | null = null
  const resumeListeners: Array<() => void> = []
  let readHeld = (): number => 0
  const apply = (state: SharedState): void => {
    if (state.routing === lastStored) return
    lastStored = state.routing
    const previous = routing
    routing = compileRouting(state.routing, names)
    if (routing.problem !== null && routing.problem !== previous.problem) log.warn({ problem: routing.problem }, 'routing state names an upstream this process does not have')
    if (previous.state.active !== routing.state.active) log.info({ from: previous.state.active, to: routing.state.active }, 'switched upstream')
    if (previous.paused && !routing.paused) for (const listener of resumeListeners) listener()
  }
  // Calls apply now with the state held, and on every newer one.
  const unsubscribe = ctx.holder.onChange(apply)

  metrics.inFlight.source(() => { let n = 0; for (const f of forwarders) n += f.inFlight; return n })
  metrics.upstreamInFlight.collectWith(() => { for (const f of forwarders) metrics.upstreamInFlight.set(f.inFlight, { upstream: f.name }) })
  metrics.openTunnels.source(() => tunnels.size)
  metrics.upstreamHeld.source(() => readHeld())

  const indexOf = (name: string): number => names.indexOf(name)

  return {
    names,
    forwarders,
    upgrades,
    tunnels,
    get routing () { return routing },
    get held () { return readHeld() },
    get problem () { return routing.problem },
    status (): UpstreamStatus[] {
      return forwarders.map((f, i) => ({
        name: f.name,
        url: (list[i] as { url: string }).url,
        healthy: monitors[i]?.healthy ?? null,
        checkedAt: monitors[i]?.checkedAt ?? null,
        inFlight: f.inFlight
      }))
    },
    async check (name) {
      const monitor = monitors[indexOf(name)]
      if (monitor === undefined) return { ok: false, reason: `no upstream named "${name}"` }
      return await monitor.checkNow()
    },
    onResume (listener) { resumeListeners.push(listener) },
    countHeld (read) { readHeld = read },
    async close () {
      unsubscribe()
      for (const m of monitors) m.stop()
      await Promise.all(forwarders.map(async (f) => { await f.close() }))
    },
    async destroy () {
      unsubscribe()
      for (const m of monitors) m.stop()
      for (const u of upgrades) u.destroyAll()
      await Promise.all(forwarders.map(async (f) => { await f.destroy() }))
    }
  }
}
