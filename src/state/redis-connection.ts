import { readFileSync } from 'node:fs'
import type { RedisOptions } from 'ioredis'
import type { Config } from '../config/schema.js'
import { ConfigError } from '../errors.js'
import { clusterNodesFromConfig, redisOptionsFromConfig, type RedisConfig, type RedisNode, type RedisTlsMaterial } from './redis-options.js'

/** How to reach the Redis that holds the state: one server (or Sentinel's master), or a Cluster. */
export interface RedisConnection {
  /** Options of every connection: the server, the master found through Sentinel, or each Cluster node. */
  options: RedisOptions
  /** Redis Cluster seed nodes; absent for a single server or Sentinel. */
  cluster?: RedisNode[]
}

type TlsConfig = Pick<Config, 'redisCaFile' | 'redisCertFile' | 'redisKeyFile'>

const PEM = {
  redisCaFile: /-----BEGIN CERTIFICATE-----/,
  redisCertFile: /-----BEGIN CERTIFICATE-----/,
  redisKeyFile: /-----BEGIN [A-Z ]*PRIVATE KEY-----/
}

function readPem (file: string | undefined, setting: keyof typeof PEM): string | undefined {
  if (file === undefined) return undefined
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(setting, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (!PEM[setting].test(text)) throw new ConfigError(setting, `${file} holds no PEM ${setting === 'redisKeyFile' ? 'private key' : 'certificate'}`)
  return text
}

/** The PEM files named by the config, read once at start; a missing or foreign file stops the process naming the setting. */
export function redisTlsFromConfig (config: TlsConfig): RedisTlsMaterial {
  const material: RedisTlsMaterial = {}
  const ca = readPem(config.redisCaFile, 'redisCaFile')
  const cert = readPem(config.redisCertFile, 'redisCertFile')
  const key = readPem(config.redisKeyFile, 'redisKeyFile')
  if (ca !== undefined) material.ca = ca
  if (cert !== undefined) material.cert = cert
  if (key !== undefined) material.key = key
  return material
}

/** Everything needed to open Redis connections for this config. Throws ConfigError naming a bad setting. */
export function redisConnectionFromConfig (config: RedisConfig & TlsConfig): RedisConnection {
  const options = redisOptionsFromConfig(config, redisTlsFromConfig(config))
  const cluster = clusterNodesFromConfig(config)
  return cluster === undefined ? { options } : { options, cluster }
}
