import cluster, { type Worker } from 'node:cluster'
import type { Logger } from 'pino'
import { settingName } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { ConfigError } from '../errors.js'
import { announceReady } from '../server.js'
import { usesRedis } from '../state/redis-options.js'

/**
 * `--workers N`: node:cluster workers sharing the gateway port (the primary
 * hands connections out round-robin), each with its own in-memory copy of the
 * state fed by Redis pub/sub. Only worker 0 runs the admin port, so migration
 * runs, webhooks and SSE streams live in one process. The primary serves
 * nothing itself: it starts, restarts and stops the workers.
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

const RESTART_DELAY_MS = 1000

export async function runPrimary (config: Config, logger: Logger): Promise<number> {
  if (!usesRedis(config)) {
    throw new ConfigError(settingName(config, 'workers'), 'more than 1 worker needs the Redis store (--redis-url): each worker holds the state in memory and learns of changes through Redis')
  }
  const workers = new Map<number, Worker>()
  let stopping = false
  let announced = false
  let gateway = ''
  let admin = ''
  const readyOnce = new Set<number>()

  return await new Promise<number>((resolve) => {
    let exitCode = 0

    const stopAll = (signal: NodeJS.Signals): void => {
      if (stopping) return
      stopping = true
      logger.info({ signal, workers: workers.size }, 'stopping workers')
      for (const w of workers.values()) w.process.kill('SIGTERM')
      if (workers.size === 0) resolve(exitCode)
    }

    const fork = (index: number): void => {
      const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) })
      workers.set(index, worker)
      worker.on('message', (message: unknown) => {
        if (!isReady(message)) return
        if (index === 0) admin = message.admin
        gateway = message.gateway
        readyOnce.add(index)
        // Worker 0 first, alone: a bad setting (port in use...) is then reported once, by one process.
        if (index === 0 && !announced) for (let i = 1; i < config.workers; i++) fork(i)
        if (!announced && readyOnce.size === config.workers) {
          announced = true
          announceReady(logger, config, gateway, admin, { workers: config.workers })
        }
      })
      worker.on('exit', (code, signal) => {
        workers.delete(index)
        if (stopping) {
          exitCode = Math.max(exitCode, code ?? 1)
          if (workers.size === 0) resolve(exitCode)
          return
        }
        if (!announced) {
          // A worker failed to start: it printed why (a ConfigError line, exit 2); stop the rest quietly.
          exitCode = code ?? 1
          stopAll('SIGTERM')
          if (workers.size === 0) resolve(exitCode)
          return
        }
        logger.error({ worker: index, code, signal }, 'worker exited; restarting it')
        setTimeout(() => { if (!stopping) fork(index) }, RESTART_DELAY_MS).unref()
      })
    }

    process.on('SIGTERM', () => { stopAll('SIGTERM') })
    process.on('SIGINT', () => { stopAll('SIGINT') })
    // Reload is per worker (each serves the page); the primary only passes it on.
    process.on('SIGHUP', () => {
      logger.info({ workers: workers.size }, 'SIGHUP: asking every worker to reload')
      for (const w of workers.values()) w.process.kill('SIGHUP')
    })
    fork(0)
  })
}
