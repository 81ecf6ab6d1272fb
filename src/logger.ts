import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino'
import { maskCredentials } from './input/mask-credentials.js'

/**
 * Paths that may hold a secret anywhere in a log object. Bypass secrets, tokens
 * and cookies never reach a log line; request URLs are logged by the gateway
 * only after it has decided the path is not a bypass URL.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-drawbridge-bypass"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-drawbridge-bypass"]',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'adminToken',
  'readToken',
  'signingKey',
  '*.signingKey',
  'bypassUrl',
  '*.bypassUrl',
  'before.secret',
  'after.secret',
  'databaseUrl',
  'redisUrl',
  'stateUrl',
  '*.databaseUrl',
  '*.redisUrl',
  '*.stateUrl',
  'rehearsalDatabaseUrl',
  '*.rehearsalDatabaseUrl'
]

/** pino's error serializer, with connection-string passwords masked in the message and stack. */
function errSerializer (err: Error): Record<string, unknown> {
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>
  if (typeof out.message === 'string') out.message = maskCredentials(out.message)
  if (typeof out.stack === 'string') out.stack = maskCredentials(out.stack)
  return out
}

export function createLogger (level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { name: 'drawbridge' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: { err: errSerializer }
  }
  return pino(options, destination ?? stdoutDestination())
}

/**
 * Synchronous stdout, as pino's default, except when the reader is gone
 * (`drawbridge serve | head`, a dead log shipper): sonic-boom's exit-time
 * flushSync retries EPIPE forever, so the process would never exit on SIGTERM.
 * Dropping the destination instead loses only logs nobody can read.
 */
function stdoutDestination (): DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: true })
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') stdout.destroy()
  })
  return stdout
}
