import { pino, type Logger, type LevelWithSilent } from 'pino'

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
  'after.secret'
]

export function createLogger (level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { name: 'drawbridge' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' }
  }
  return destination === undefined ? pino(options) : pino(options, destination)
}
