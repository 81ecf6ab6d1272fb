import cluster from 'node:cluster'
import { setTimeout as sleep } from 'node:timers/promises'
import type { TSchema } from '../input/typebox.js'
import { loadConfig } from '../config/load.js'
import { CONFIG_SCHEMA } from '../config/config-shape.generated.js'
import type { Config } from '../config/schema.js'
import { SETTINGS } from '../config/settings.js'
import { createLogger } from '../logger.js'
import type { RunningDrawbridge } from '../server.js'

/** `drawbridge serve --help`, generated from the config schema so it can never drift from it. */
export function serveHelp (): string {
  const lines = [
    'Usage: drawbridge serve [--config FILE] [--name value ...]',
    '',
    'Runs the gateway port and the admin port. Every setting can be a flag,',
    'an environment variable or a key in the config file (YAML or JSON):',
    'flag beats env beats file beats default. Lists are comma-separated.',
    '',
    '  --config FILE (DRAWBRIDGE_CONFIG)',
    '      YAML or JSON file of settings, keys as below in camelCase.'
  ]
  const properties = CONFIG_SCHEMA.properties as Record<string, TSchema>
  for (const setting of SETTINGS) {
    const schema = properties[setting.key] as TSchema
    const def = schema.default === undefined ? '' : ` [default: ${Array.isArray(schema.default) ? (schema.default.join(',') || 'none') : String(schema.default)}]`
    const spelled = setting.kind === 'file-only' ? `${setting.key} (config file only)` : `${setting.flag} (${setting.env})`
    lines.push(`  ${spelled}${def}`)
    if (typeof schema.description === 'string') lines.push(`      ${schema.description}`)
  }
  return lines.join('\n') + '\n'
}

function nextSignal (signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      for (const s of signals) process.off(s, onSignal)
      resolve(signal)
    }
    for (const s of signals) process.on(s, onSignal)
  })
}

/**
 * Serves until SIGTERM or SIGINT, then drains and returns the exit code:
 * 0 after a clean shutdown, 1 if a second signal or a stuck shutdown cut it
 * short. Config errors propagate as ConfigError (main prints them, exit 2).
 */
export async function run (args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(serveHelp())
    return 0
  }
  const config = loadConfig(args, process.env)
  const logger = createLogger(config.logLevel)
  if (config.workers > 1 && cluster.isPrimary) {
    const { runPrimary } = await import('./cluster.js')
    return await runPrimary(config, logger)
  }
  const { workerIndex, reportReady } = await import('./cluster.js')
  const index = workerIndex()
  // In a cluster the primary coordinates shutdown: a terminal's Ctrl-C reaches every worker too, and must not count as a first signal.
  if (index !== null) process.on('SIGINT', () => {})
  // Listen for signals before the ports open, so a SIGTERM during start-up still shuts down cleanly.
  const firstSignal = nextSignal(index === null ? ['SIGTERM', 'SIGINT'] : ['SIGTERM'])
  // Loaded only once the config is valid, so a config error is reported without loading the proxy.
  // SIGHUP would kill the process by default; operators send it to reload (nginx -s reload).
  let running: RunningDrawbridge | null = null
  process.on('SIGHUP', () => {
    if (running === null) {
      logger.info({ signal: 'SIGHUP' }, 'SIGHUP during start-up: nothing to reload yet')
      return
    }
    logger.info({ signal: 'SIGHUP' }, 'SIGHUP: reloading the page template and re-reading the config')
    let next: Config | undefined
    try {
      next = loadConfig(args, process.env)
    } catch (err) {
      // The process keeps running with the config it started with.
      logger.error({ problem: (err as Error).message }, 'reload: the config is invalid now; keeping the running config')
    }
    running.reload(next)
  })
  const { startDrawbridge } = await import('../server.js')
  // A worker's channel to the primary: its store when the primary holds the embedded one, and the cluster-wide scrape.
  const primary = index === null ? undefined : await import('../ipc/ipc-peer.js').then((m) => new m.IpcPeer(m.parentChannel()))
  running = await startDrawbridge(config, logger, index === null ? undefined : { admin: index === 0, announce: false, primary })
  if (index !== null) reportReady(running.gatewayAddress, running.adminAddress)

  const signal = await firstSignal
  logger.info({ signal }, 'signal received')
  const current = running
  const abort = new AbortController()
  const code = await Promise.race([
    current.close().then(() => 0),
    nextSignal(index === null ? ['SIGTERM', 'SIGINT'] : ['SIGTERM']).then((again) => {
      logger.warn({ signal: again }, 'second signal: exiting without waiting for the drain')
      return 1
    }),
    // The drain is bounded by drainTimeoutMs; this is the backstop if closing itself hangs.
    sleep(config.drainTimeoutMs + 5000, undefined, { ref: false, signal: abort.signal }).then(() => {
      logger.error('shutdown did not finish in time; exiting')
      return 1
    }, () => 0)
  ])
  abort.abort()
  return code
}
