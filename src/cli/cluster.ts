import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import { IpcPeer, childChannel } from '../ipc/ipc-peer.js'
import { IPC_METRICS, MetricsGatherer } from '../cluster/metrics-gather.js'
import { nextRestartDelay } from '../cluster/restart-backoff.js'
import type { Config } from '../config/schema.js'
import { announceReady } from '../server.js'
import { budgetsFromConfig, CLUSTER_STORE_ENV, CLUSTER_STORE_IPC, usesSharedStore } from '../state/create-store.js'
import { IpcStateRelay } from '../state/ipc-primary.js'
import { MemoryStore } from '../state/memory-store.js'

/**
 * `--workers N`: node:cluster workers sharing the gateway port (each accepts
 * from the one listening socket, see chooseSchedulingPolicy), each with its
 * own in-memory copy of the state. With Redis the workers share it through
 * Redis pub/sub; with the embedded store (memory or state file) the primary
 * holds the store and relays it to the workers over IPC (state/ipc-primary.ts). Only worker 0 runs
 * the admin port, so migration runs, webhooks and SSE streams live in one
 * process; its /metrics asks the primary, which gathers every worker's. The
 * primary serves no traffic itself: it holds the embedded store, starts the
 * workers and restarts any that dies, with backoff, while the others keep the port.
 */

export const WORKER_INDEX_ENV = 'DRAWBRIDGE_WORKER_INDEX'

interface ReadyMessage { type: 'drawbridge-ready', gateway: string, admin: string }

function isReady (message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as ReadyMessage).type === 'drawbridge-ready'
}

/** In a worker: its index (0 runs the admin port); null outside a cluster. */
export function workerIndex (): number | null {
  if (!cluster.isWorker) return null
  return Number(process.env[WORKER_INDEX_ENV] ?? 0)
}

export function reportReady (gateway: string, admin: string): void {
  const message: ReadyMessage = { type: 'drawbridge-ready', gateway, admin }
  process.send?.(message)
}

interface Slot { worker: Worker, peer: IpcPeer, startedAt: number }

/**
 * Workers accept from the shared listening socket themselves (SCHED_NONE)
 * rather than the primary accepting and handing each connection over (Node's
 * round-robin default on Linux). With round-robin, a connection in transit to
 * a worker that dies is held open by the primary forever: its client hangs.
 * With a shared socket, connections the dead worker had not accepted yet stay
 * in the kernel's queue for the others; only those it was serving are reset.
 * NODE_CLUSTER_SCHED_POLICY=rr still selects round-robin.
 */
function chooseSchedulingPolicy (): void {
  if (process.env.NODE_CLUSTER_SCHED_POLICY === undefined) cluster.schedulingPolicy = cluster.SCHED_NONE
}

export async function runPrimary (config: Config, logger: Logger): Promise<number> {
  chooseSchedulingPolicy()
  // The embedded store lives here, once for all workers (a corrupt state file is served around, as in one process).
  const relay = usesSharedStore(config) ? null : new IpcStateRelay(new MemoryStore({ logger: logger.child({ component: 'state' }), stateFile: config.stateFile, budgets: budgetsFromConfig(config) }))
  // Created (and with a state file persisted) before the first worker asks. A state file that cannot be
  // written is not fatal here, as in one process: the workers' loads retry and /readyz says why.
  await relay?.load().catch((err: unknown) => { logger.warn({ err }, 'embedded store not loaded yet; the workers will retry') })
  const workerEnv: Record<string, string> = relay === null ? {} : { [CLUSTER_STORE_ENV]: CLUSTER_STORE_IPC }

  const slots = new Map<number, Slot>()
  /** Per worker index: the delay before its last restart, for the backoff. */
  const lastDelay = new Map<number, number>()
  let stopping = false
  let announced = false
  let gateway = ''
  let admin = ''
  const readyOnce = new Set<number>()
  // Kept referenced: should every worker be dead at once, a pending restart is what keeps the primary alive.
  const restarts = new Set<NodeJS.Timeout>()
  const metrics = new MetricsGatherer()
  const peers = (): IpcPeer[] => [...slots.values()].map((s) => s.peer)

  const exitCode = await new Promise<number>((resolve) => {
    let exitCode = 0

    const stopAll = (signal: NodeJS.Signals): void => {
      if (stopping) return
      stopping = true
      for (const timer of restarts) clearTimeout(timer)
      logger.info({ signal, workers: slots.size }, 'stopping workers')
      for (const { worker } of slots.values()) worker.process.kill('SIGTERM')
      if (slots.size === 0) resolve(exitCode)
    }

    const fork = (index: number): void => {
      const worker = cluster.fork({ ...workerEnv, [WORKER_INDEX_ENV]: String(index) })
      const peer = new IpcPeer(childChannel(worker))
      relay?.attach(peer)
      peer.handle(IPC_METRICS.gather, async () => await metrics.gather(peers(), (err) => {
        logger.warn({ err }, 'a worker did not answer the metrics scrape; left out of it')
      }))
      slots.set(index, { worker, peer, startedAt: Date.now() })
      worker.on('message', (message: unknown) => {
        if (!isReady(message)) return
        if (index === 0) admin = message.admin
        gateway = message.gateway
        if (announced) logger.info({ worker: index, pid: worker.process.pid, gateway: message.gateway, admin: message.admin || undefined }, 'worker restarted')
        readyOnce.add(index)
        // Worker 0 first, alone: a bad setting (port in use...) is then reported once, by one process.
        if (index === 0 && !announced) for (let i = 1; i < config.workers; i++) fork(i)
        if (!announced && readyOnce.size === config.workers) {
          announced = true
          announceReady(logger, config, gateway, admin, { workers: config.workers, workerPids: [...slots.keys()].sort((a, b) => a - b).map((i) => slots.get(i)?.worker.process.pid) })
        }
      })
      worker.on('exit', (code, signal) => {
        const slot = slots.get(index)
        slots.delete(index)
        peer.close('worker exited')
        relay?.detach(peer)
        metrics.retire(peer)
        if (stopping) {
          exitCode = Math.max(exitCode, code ?? 1)
          if (slots.size === 0) resolve(exitCode)
          return
        }
        if (!announced) {
          // A worker failed to start: it printed why (a ConfigError line, exit 2); stop the rest quietly.
          exitCode = code ?? 1
          stopAll('SIGTERM')
          if (slots.size === 0) resolve(exitCode)
          return
        }
        const delay = nextRestartDelay(lastDelay.get(index) ?? null, Date.now() - (slot?.startedAt ?? 0))
        lastDelay.set(index, delay)
        metrics.restarts.inc()
        logger.error({ worker: index, code, signal, restartInMs: delay }, 'worker exited; restarting it')
        const timer = setTimeout(() => {
          restarts.delete(timer)
          if (!stopping) fork(index)
        }, delay)
        restarts.add(timer)
      })
    }

    process.on('SIGTERM', () => { stopAll('SIGTERM') })
    process.on('SIGINT', () => { stopAll('SIGINT') })
    // Reload is per worker (each serves the page); the primary only passes it on.
    process.on('SIGHUP', () => {
      logger.info({ workers: slots.size }, 'SIGHUP: asking every worker to reload')
      for (const { worker } of slots.values()) worker.process.kill('SIGHUP')
    })
    fork(0)
  })
  // After every worker has drained: the last writes are in, the state file is flushed.
  await relay?.close()
  return exitCode
}
