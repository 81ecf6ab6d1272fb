import { Type, type Static } from '../input/typebox.js'

/**
 * The one source of truth for settings: the loader validates against it, the
 * types come from it, and docs/configuration.md is generated from it.
 *
 * Each top-level scalar `fooBar` can be given as flag `--foo-bar`, env
 * `DRAWBRIDGE_FOO_BAR`, or key `fooBar` in the config file (YAML or JSON);
 * flag beats env beats file beats default. Lists given as a flag or env are
 * comma-separated.
 */

/** host:port, IPv6 in brackets. */
const HostPort = { pattern: '^(\\[[0-9a-fA-F:.]+\\]|[^:\\s\\[\\]]+):[0-9]{1,5}$' }

export const TokenSchema = Type.Object({
  name: Type.String({ minLength: 1 }),
  token: Type.String({ minLength: 16 }),
  role: Type.Union([Type.Literal('admin'), Type.Literal('read')])
}, { additionalProperties: false })

export const WebhookSchema = Type.Object({
  url: Type.String({ format: 'uri' }),
  events: Type.Array(Type.String(), { default: ['*'] }),
  secret: Type.Optional(Type.String({ minLength: 1 }))
}, { additionalProperties: false })

export const RedisOptionsSchema = Type.Object({
  /** Redis Sentinel nodes; with `name`, used instead of redisUrl's host. */
  sentinels: Type.Optional(Type.Array(Type.Object({
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 })
  }, { additionalProperties: false }), { minItems: 1 })),
  name: Type.Optional(Type.String({ minLength: 1 })),
  /** Redis Cluster seed nodes; `redisClusterNodes` (flag, env) wins over it. */
  cluster: Type.Optional(Type.Array(Type.Object({
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 })
  }, { additionalProperties: false }), { minItems: 1 })),
  /** Lets several gateways (one per app) share one Redis. */
  keyPrefix: Type.String({ default: 'drawbridge:', minLength: 1 })
}, { additionalProperties: false })

export const ConfigSchema = Type.Object({
  upstream: Type.Optional(Type.String({ description: 'Base URL of the application, http or https (the one upstream, named `default`).' })),
  upstreams: Type.Optional(Type.Union([Type.String(), Type.Record(Type.String(), Type.String())], { description: 'Named upstreams for blue-green switches and canaries, instead of `upstream`: `blue=http://10.0.0.5:3000,green=http://10.0.0.6:3000` (config file: a mapping). The first is active at first start.' })),
  healthPath: Type.String({ default: '/', pattern: '^/', description: 'Path of the active health check: an upstream is healthy when a GET of it answers below 500 within upstreamTimeoutMs.' }),
  healthIntervalMs: Type.Integer({ default: 5000, minimum: 100, description: 'How often each named upstream is health-checked (checks run when `upstreams` is given; a switch always checks its target first).' }),
  healthyThreshold: Type.Integer({ default: 2, minimum: 1, maximum: 100, description: 'Consecutive passing checks before an unhealthy upstream counts as healthy again.' }),
  unhealthyThreshold: Type.Integer({ default: 3, minimum: 1, maximum: 100, description: 'Consecutive failing checks before a healthy upstream counts as unhealthy.' }),
  pauseMaxHeld: Type.Integer({ default: 10000, minimum: 1, description: 'Most requests held at once while traffic is paused; past it, the maintenance answer at once.' }),
  pauseMaxHeldBytes: Type.Integer({ default: 67108864, minimum: 65536, description: 'Most bytes (request heads plus what a held body can buffer) held at once while traffic is paused; past it, the maintenance answer at once.' }),
  listen: Type.String({ ...HostPort, default: '0.0.0.0:8080', description: 'Gateway address, host:port; port 0 picks a free port.' }),
  adminListen: Type.String({ ...HostPort, default: '127.0.0.1:9090', description: 'Admin API address, host:port.' }),
  adminToken: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token that may do everything on the admin API.' })),
  readToken: Type.Optional(Type.String({ minLength: 16, description: 'Bearer token that may read and evaluate flags.' })),
  tokens: Type.Array(TokenSchema, { default: [], description: 'Named tokens (config file only): {name, token, role: admin|read}.' }),
  adminUrl: Type.Optional(Type.String({ description: 'Admin API base URL used by the CLI client commands.' })),
  redisUrl: Type.Optional(Type.String({ description: 'redis:// or rediss:// URL; shared state for every replica. None: embedded store.' })),
  redis: Type.Optional(RedisOptionsSchema),
  redisCaFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA certificates that sign the Redis server\'s certificate (rediss://); when set, only these are trusted, not the system CAs.' })),
  redisCertFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate presented to Redis over TLS, for a server that requires one (`tls-auth-clients yes`); with redisKeyFile.' })),
  redisKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of redisCertFile.' })),
  redisClusterNodes: Type.Optional(Type.Array(Type.String({ ...HostPort }), { minItems: 1, description: 'Redis Cluster: some of its nodes, host:port, comma-separated (config file: this or `redis.cluster`); the rest are discovered. Credentials and TLS come from redisUrl, whose host is then not used.' })),
  redisSentinels: Type.Optional(Type.Array(Type.String({ ...HostPort }), { minItems: 1, description: 'Redis Sentinel: the sentinels to ask, host:port, comma-separated (config file: this or `redis.sentinels`), with redisSentinelName. Credentials, db and TLS of the master come from redisUrl, whose host is then not used.' })),
  redisSentinelName: Type.Optional(Type.String({ minLength: 1, description: 'Redis Sentinel: the master\'s name as the sentinels know it (config file: this or `redis.name`).' })),
  stateFile: Type.Optional(Type.String({ description: 'Embedded store persisted to this file (atomic writes); survives restarts.' })),
  stateUrl: Type.Optional(Type.String({ description: 'postgres:// URL: the shared state for every replica kept in PostgreSQL (a schema of its own, LISTEN/NOTIFY), instead of Redis.' })),
  stateSchema: Type.String({ default: 'drawbridge', minLength: 1, description: 'PostgreSQL schema of the stateUrl store\'s tables, created at start when missing (lower-case letters, digits and _, at most 48): several gateways share one database with a schema each.' }),
  stateCache: Type.Optional(Type.String({ description: 'Local file with this replica\'s last applied state (Redis or PostgreSQL store): a replica that starts while its store is unreachable serves it instead of failPolicy.' })),
  databaseUrl: Type.Optional(Type.String({ description: 'PostgreSQL URL of the application, for migrations.' })),
  rehearsalDatabaseUrl: Type.Optional(Type.String({ description: 'PostgreSQL server where migration rehearsals make their scratch databases (a URL to any database there, used for CREATE/DROP DATABASE). Default: the application database\'s server.' })),
  migrationsDir: Type.String({ default: './migrations', description: 'Directory of *.sql migrations, applied in name order.' }),
  backupDir: Type.String({ default: './backups', description: 'Where pg_dump backups taken before migration runs are written.' }),
  trustedProxies: Type.Array(Type.String(), { default: [], description: 'CIDRs whose X-Forwarded-For is believed.' }),
  corsOrigins: Type.Array(Type.String(), { default: [], description: 'Browser origins (https://app.example.com) allowed to call the OFREP routes, for OpenFeature web providers; * allows any. The token is still required.' }),
  signingKey: Type.Optional(Type.String({ minLength: 16, description: 'HMAC key for bypass cookies. Default: random per store, kept in the store.' })),
  page: Type.Optional(Type.String({ description: 'Maintenance page template (default: static/maintenance.html of the package).' })),
  flagsIdentity: Type.Optional(Type.String({ pattern: '^(header|cookie):.+$', description: 'Where a request\'s targeting key comes from: header:<name> or cookie:<name>.' })),
  flagsStaleDays: Type.Integer({ default: 30, minimum: 1, description: 'A flag that served one value only for this many days is listed as stale.' }),
  publicUrl: Type.Optional(Type.String({ description: 'Public base URL of the gateway, used to print bypass URLs.' })),
  failPolicy: Type.Union([Type.Literal('open'), Type.Literal('closed')], { default: 'open', description: 'Before any state has loaded: open (proxy) or closed (maintenance page).' }),
  upstreamCaFile: Type.Optional(Type.String({ description: 'PEM file of CA certificates trusted for an https upstream (an internal CA, a self-signed certificate), in addition to the system CAs.' })),
  upstreamTimeoutMs: Type.Integer({ default: 30000, minimum: 1, description: 'Time to wait for the upstream\'s response headers before a 504.' }),
  upstreamConnections: Type.Integer({ default: 128, minimum: 1, description: 'Keep-alive connections to the upstream.' }),
  upstreamPipelining: Type.Integer({ default: 1, minimum: 1, description: 'Requests pipelined per upstream connection.' }),
  flagsHeaderMaxBytes: Type.Integer({ default: 4096, minimum: 64, maximum: 16384, description: 'Most bytes of X-Drawbridge-Flags sent upstream (Node\'s whole header limit is 16 KiB): enabled flags are listed in key order, whole entries only, until the next would not fit; the rest are left out and a warning is logged once per flags change.' }),
  stateMaxBytes: Type.Integer({ default: 16777216, minimum: 65536, description: 'Budget of the whole shared state, in bytes of its JSON: a write that would grow it past this answers 413 naming the budget (a 100k-entry allowlist is about 2 MB).' }),
  flagMaxBytes: Type.Integer({ default: 262144, minimum: 1024, description: 'Budget of one flag (rules, variants, gate), in bytes of its JSON: a PUT or PATCH that would grow a flag past it answers 413.' }),
  auditMaxEntries: Type.Integer({ default: 1000, minimum: 1, description: 'Audit log entries kept, newest first.' }),
  auditMaxBytes: Type.Integer({ default: 4194304, minimum: 65536, description: 'Bytes of audit entries kept; the oldest go first. Entries record what changed, with long values summarised.' }),
  headersTimeoutMs: Type.Integer({ default: 60000, minimum: 100, description: 'A client must send its request headers within this time (slowloris guard, nginx\'s client_header_timeout); 408 and closed otherwise.' }),
  bodyTimeoutMs: Type.Integer({ default: 60000, minimum: 0, description: 'A request body that sends nothing for this long is cut (nginx\'s client_body_timeout); 0: never.' }),
  tunnelIdleTimeoutMs: Type.Integer({ default: 300000, minimum: 0, description: 'A WebSocket tunnel with no bytes either way for this long is closed; 0: never.' }),
  adminHeadersTimeoutMs: Type.Integer({ default: 10000, minimum: 100, description: 'Admin port: a client must send its request headers within this time; 408 and closed otherwise.' }),
  adminRequestTimeoutMs: Type.Integer({ default: 30000, minimum: 100, description: 'Admin port: a client must send its whole request (headers and body) within this time; 408 and closed otherwise.' }),
  adminKeepAliveTimeoutMs: Type.Integer({ default: 5000, minimum: 100, description: 'Admin port: an idle keep-alive connection is closed after this time.' }),
  drainTimeoutMs: Type.Integer({ default: 10000, minimum: 0, description: 'On SIGTERM, how long in-flight requests may finish.' }),
  bypassCookieTtlSeconds: Type.Integer({ default: 43200, minimum: 60, description: 'Lifetime of the bypass cookie.' }),
  resyncIntervalMs: Type.Integer({ default: 5000, minimum: 100, description: 'Periodic full resync from the store, healing missed pub/sub messages.' }),
  accessLogSample: Type.Number({ default: 0, minimum: 0, maximum: 1, description: 'Fraction of proxied requests written to the access log.' }),
  logLevel: Type.Union([
    Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'),
    Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace'), Type.Literal('silent')
  ], { default: 'info', description: 'pino log level.' }),
  webhooks: Type.Array(WebhookSchema, { default: [], description: 'Config file only: [{url, events, secret}].' }),
  workers: Type.Integer({ default: 1, minimum: 1, maximum: 64, description: 'Gateway processes sharing the gateway port (node:cluster). With the embedded store the primary holds it and relays it to the workers; with Redis they share it there. Worker 0 also serves the admin port.' })
}, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>
export type TokenConfig = Static<typeof TokenSchema>
export type WebhookConfig = Static<typeof WebhookSchema>
