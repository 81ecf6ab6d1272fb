import { packageVersion } from '../version.js'
import { didYouMean } from '../input/suggest.js'
import { ConfigError } from '../errors.js'
import { CliFailure, printError, UsageError } from './output.js'

/**
 * The `drawbridge` executable. The only place that exits the process: every
 * command returns its exit code, and errors map to codes here (2 for a bad
 * command line or config, 1 for anything that failed while running).
 */

type Command = (args: string[]) => Promise<number>

/** Loaded on demand, so `drawbridge maintenance status` does not load the proxy. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.js')).run,
  maintenance: async () => (await import('./maintenance.js')).run,
  flags: async () => (await import('./flags.js')).run,
  migrate: async () => (await import('./migrate.js')).run,
  upstreams: async () => (await import('./upstreams.js')).runUpstreams,
  switch: async () => (await import('./switch.js')).run,
  canary: async () => (await import('./upstreams.js')).runCanary,
  pause: async () => (await import('./upstreams.js')).runPause,
  resume: async () => (await import('./upstreams.js')).runResume
}

const HELP = `Usage: drawbridge [command] [options]

Commands:
  serve                       run the gateway and the admin API (the default)
  maintenance on|off|status   turn maintenance mode on or off, or show it
  flags ...                   manage feature flags
  migrate status|analyze|rehearse|up
                              database migrations (rehearse: on a scratch copy, measured)
  upstreams                   the named upstreams: health, in flight, active, canary, pause
  switch NAME                 send new requests to upstream NAME, then wait for the old one to drain
  canary NAME PERCENT|off     send PERCENT % of identities to NAME, or end the canary
  pause | resume              hold new requests (a restart without errors), then let them through

Run "drawbridge <command> --help" for the options of a command.
  --help, -h       this help
  --version, -v    print the version
`

function version (): string {
  return packageVersion()
}

async function main (argv: string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(HELP)
    return 0
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    process.stdout.write(`drawbridge ${version()}\n`)
    return 0
  }
  // No command, or settings straight away: serve, as the contract says.
  const name = first === undefined || first.startsWith('-') ? 'serve' : first
  const load = COMMANDS[name]
  if (load === undefined) {
    throw new UsageError(`unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}`, 'drawbridge --help')
  }
  const run = await load()
  return await run(name === first ? rest : argv)
}

function exitCodeFor (err: unknown): number {
  if (err instanceof ConfigError) {
    printError(err.message)
    return 2
  }
  if (err instanceof UsageError) {
    printError(err.message + (err.hint === undefined ? '' : ` (see ${err.hint})`))
    return 2
  }
  if (err instanceof CliFailure) {
    printError(err.message)
    return 1
  }
  printError(err instanceof Error ? err.message : String(err))
  if (process.env.DRAWBRIDGE_DEBUG !== undefined && err instanceof Error && err.stack !== undefined) process.stderr.write(err.stack + '\n')
  return 1
}

process.on('uncaughtException', (err) => {
  printError(`fatal: ${err.stack ?? err.message}`)
  process.exit(1)
})

main(process.argv.slice(2)).then(
  (code) => { process.exit(code) },
  (err: unknown) => { process.exit(exitCodeFor(err)) }
)
