import type { RedisOptions } from 'ioredis'
import { ConfigError } from '../errors.js'
import type { RedisClient } from './redis-client.js'

/** Node's codes for a server certificate that no trusted CA vouches for. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED', 'CERT_REJECTED', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'INVALID_CA'
])

/** What a failed first connection had reached, for telling a bad setting from a Redis that is away. */
export interface FirstFailure {
  error: Error
  /** The TCP (and TLS) connection was made before it failed. */
  connected: boolean
}

/**
 * Watches a client's first connection from its creation: the result resolves
 * with its failure, or null once it is ready or `timeoutMs` passed after the
 * result was asked for. Later failures are the reconnect logic's business.
 */
export function watchFirstConnection (client: RedisClient): (timeoutMs: number) => Promise<FirstFailure | null> {
  let connected = false
  let outcome: FirstFailure | null | undefined
  const waiting = new Set<() => void>()
  const settle = (value: FirstFailure | null): void => {
    if (outcome !== undefined) return
    outcome = value
    client.off('connect', onConnect)
    client.off('ready', onReady)
    client.off('error', onError)
    for (const wake of waiting) wake()
  }
  const onConnect = (): void => { connected = true }
  const onReady = (): void => { settle(null) }
  const onError = (error: Error): void => {
    // A Cluster reports that no node answered; the node's own error says why.
    const cause = (error as { lastNodeError?: Error }).lastNodeError ?? error
    settle({ error: cause, connected })
  }
  client.on('connect', onConnect)
  client.on('ready', onReady)
  client.on('error', onError)
  return async (timeoutMs) => {
    if (outcome === undefined) {
      await new Promise<void>((resolve) => {
        const wake = (): void => { clearTimeout(timer); waiting.delete(wake); resolve() }
        const timer = setTimeout(wake, timeoutMs)
        waiting.add(wake)
      })
    }
    return outcome ?? null
  }
}

/**
 * The setting to blame for a failed first connection, as a ConfigError, or
 * null when nothing in the settings explains it (Redis down, refused, slow):
 * that case keeps serving per the fail policy and reconnects. Never quotes a
 * password: neither Node nor Redis put one in these messages.
 */
export function settingProblem (failure: FirstFailure, options: RedisOptions): ConfigError | null {
  const { error, connected } = failure
  const code = (error as NodeJS.ErrnoException).code ?? ''
  const tls = options.tls
  if (UNTRUSTED.has(code)) {
    const trusted = tls?.ca === undefined ? 'the system CAs (set redisCaFile to the CA that signed it)' : 'the CA certificates of this file'
    return new ConfigError('redisCaFile', `the Redis server's certificate is not signed by ${trusted}: ${code}`)
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new ConfigError('redisUrl', `the Redis server's certificate does not name the host connected to (${error.message})`)
  }
  if (/^ERR_SSL_.*ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_EXPIRED)$/.test(code)) {
    return new ConfigError('redisCertFile', `the Redis server does not accept this client certificate: ${code}`)
  }
  // TLS 1.3 finishes the handshake before the server checks the client's
  // certificate: one that wants a certificate and got none resets the
  // connection at the first command (its alert, when it arrives first, says so).
  if (/ALERT_CERTIFICATE_REQUIRED$/.test(code) ||
    (tls !== undefined && tls.cert === undefined && connected && (code === 'ECONNRESET' || code === 'EPIPE'))) {
    return new ConfigError('redisCertFile', 'the Redis server closed the TLS connection before answering: it requires a client certificate (redisCertFile and redisKeyFile)')
  }
  if (/^(WRONGPASS|NOAUTH)\b/.test(error.message)) {
    return new ConfigError('redisUrl', `Redis refused the credentials: ${error.message.split(' ')[0] ?? ''} (check the user name and password)`)
  }
  return null
}
