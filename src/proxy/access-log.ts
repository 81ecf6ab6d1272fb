import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { Config } from '../config/schema.js'
import type { Outcome } from './outcomes.js'

export type AccessLogger = (req: IncomingMessage, res: ServerResponse | null, path: string, status: number, ip: string, rule: Outcome) => void

/**
 * The sampled access log (`accessLogSample`), or null when it is off so the
 * request path skips it with one comparison. Never logged: the bypass URL and
 * secret-path probes (their path is the secret), any path under a secret
 * current or retired, any query string.
 */
export function createAccessLog (config: Config, logger: Logger, isSecretPath: (path: string) => boolean): AccessLogger | null {
  const sample = config.accessLogSample
  if (sample <= 0) return null
  const log = logger.child({ component: 'access' })
  return (req, res, path, status, ip, rule) => {
    if (rule === 'bypass-url' || rule === 'secret-path' || Math.random() >= sample) return
    const started = performance.now()
    const shown = isSecretPath(path) ? '[redacted]' : path
    const write = (): void => {
      log.info({ method: req.method, path: shown, status: res?.statusCode ?? status, ms: Math.round(performance.now() - started), ip, rule }, 'request')
    }
    if (res === null) write()
    else res.once('finish', write)
  }
}
