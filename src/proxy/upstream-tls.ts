import { readFileSync } from 'node:fs'
import { rootCertificates } from 'node:tls'
import type { Config } from '../config/schema.js'
import { ConfigError } from '../errors.js'

/**
 * CAs to trust for an https upstream: the system's plus `upstreamCaFile`
 * (legacy apps often sit behind an internal CA or a self-signed certificate).
 * Undefined when none is configured, so TLS keeps Node's defaults. Read once at
 * start; a missing or empty file stops the process naming the setting.
 */
export function upstreamCa (config: Pick<Config, 'upstreamCaFile'>): string[] | undefined {
  const file = config.upstreamCaFile
  if (file === undefined) return undefined
  let pem: string
  try {
    pem = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError('upstreamCaFile', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('upstreamCaFile', `${file} holds no PEM certificate`)
  return [...rootCertificates, pem]
}
