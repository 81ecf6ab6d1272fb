import { writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TSchema } from '../src/input/typebox.js'
import { ConfigSchema } from '../src/config/schema.js'
import { SETTINGS, type Setting } from '../src/config/settings.js'

/**
 * Writes docs/configuration.md from the config schema and the loader's naming
 * rules (src/config/settings.ts), so the reference cannot drift from what the
 * loader accepts. test/docs/config-reference.test.ts fails when the committed
 * file is not what this renders; `npm run docs:config` rewrites it.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const CONFIG_DOC = join(ROOT, 'docs', 'configuration.md')

function code (value: string): string {
  return '`' + value + '`'
}

/** Markdown table cells cannot hold a raw pipe. */
function cell (text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

function literals (schema: TSchema): string[] | null {
  const variants = schema.anyOf as TSchema[] | undefined
  if (variants === undefined || !variants.every((v) => v.const !== undefined)) return null
  return variants.map((v) => String(v.const))
}

function typeOf (schema: TSchema): string {
  const lits = literals(schema)
  if (lits !== null) return lits.map(code).join(' | ')
  switch (schema.type) {
    case 'string': return schema.format === 'uri' ? 'URL' : schema.pattern !== undefined && String(schema.pattern).includes(':[0-9]') ? 'host:port' : 'string'
    case 'integer':
    case 'number': {
      const range = schema.minimum !== undefined && schema.maximum !== undefined
        ? ` ${String(schema.minimum)}–${String(schema.maximum)}`
        : schema.minimum !== undefined ? ` ≥ ${String(schema.minimum)}` : ''
      return `${String(schema.type)}${range}`
    }
    case 'boolean': return 'boolean'
    case 'array': {
      const items = schema.items as TSchema
      return items.type === 'object' ? 'list of objects' : `list of ${typeOf(items)}`
    }
    case 'object': return 'object'
  }
  return 'value'
}

function defaultOf (schema: TSchema): string {
  const d = schema.default as unknown
  if (d === undefined) return '—'
  if (Array.isArray(d)) return d.length === 0 ? 'none' : code(d.join(','))
  return code(String(d))
}

function constraints (schema: TSchema): string {
  const parts: string[] = []
  if (typeof schema.minLength === 'number' && schema.minLength > 1) parts.push(`at least ${schema.minLength} characters`)
  if (typeof schema.minItems === 'number') parts.push(`at least ${schema.minItems} item${schema.minItems === 1 ? '' : 's'}`)
  return parts.length > 0 ? ` (${parts.join(', ')})` : ''
}

/**
 * Notes for nested keys whose schema carries no `description` yet (the schema's
 * own description wins as soon as it has one).
 */
const NESTED_NOTES: Record<string, string> = {
  redis: 'Redis beyond a single node (config file only). With `sentinels` and `name`, the master is found through Redis Sentinel; with `cluster`, the state lives in a Redis Cluster; credentials, database and TLS (`rediss://`) still come from `redisUrl`. See docs/redis-topologies.md.',
  'tokens[].name': 'Recorded as `updatedBy` and in the audit log.',
  'tokens[].role': '`admin`: everything; `read`: GET routes and OFREP evaluation.',
  'redis.sentinels': 'Sentinel nodes to ask for the master.',
  'redis.name': 'Master name known to the sentinels.',
  'redis.cluster': 'Redis Cluster seed nodes (`redisClusterNodes` as a flag or env wins over it); every key shares one hash slot.',
  'redis.keyPrefix': 'Prefix of every key and channel, so several gateways (one per app) can share one Redis. On a Redis Cluster it is wrapped in a hash tag (`{drawbridge:}state`) unless it holds one, so every key lives in one slot.',
  'webhooks[].url': 'Receiver; a Slack incoming-webhook URL works as is. See docs/webhooks.md.',
  'webhooks[].events': '`*`, an event name, or a family such as `maintenance.*`.',
  'webhooks[].secret': 'When set, each request carries `X-Drawbridge-Signature: sha256=<HMAC of the body>`.'
}

function describe (name: string, schema: TSchema): string {
  if (typeof schema.description === 'string') return schema.description
  return NESTED_NOTES[name] ?? ''
}

function nestedRows (prefix: string, schema: TSchema): string[] {
  const props = schema.properties as Record<string, TSchema> | undefined
  if (props === undefined) return []
  const required = new Set((schema.required as string[] | undefined) ?? [])
  const rows: string[] = []
  for (const [key, child] of Object.entries(props)) {
    const name = `${prefix}.${key}`
    const optional = required.has(key) && child.default === undefined ? 'required' : 'optional'
    const desc = describe(name, child)
    rows.push(`| ${code(name)} | ${cell(typeOf(child))} | ${defaultOf(child)} | ${cell(`${desc === '' ? '' : desc + ' '}${optional[0]?.toUpperCase() ?? ''}${optional.slice(1)}${constraints(child)}.`)} |`)
    const items = child.type === 'array' ? child.items as TSchema : null
    if (child.type === 'object') rows.push(...nestedRows(name, child))
    if (items?.type === 'object') rows.push(...nestedRows(`${name}[]`, items))
  }
  return rows
}

function flagCell (s: Setting): string {
  return s.kind === 'file-only' ? 'file only' : code(s.flag)
}

function envCell (s: Setting): string {
  return s.kind === 'file-only' ? '—' : code(s.env)
}

export function renderConfigDocs (): string {
  const props = ConfigSchema.properties as Record<string, TSchema>
  const out: string[] = []
  out.push('<!-- Generated by scripts/gen-config-docs.ts from src/config/schema.ts: edit the schema, then run `npm run docs:config`. -->')
  out.push('# Configuration reference')
  out.push('')
  out.push('Every setting can be given as a command-line flag, an environment variable, or a key in a')
  out.push('YAML or JSON config file (`--config FILE` or `DRAWBRIDGE_CONFIG`). **Flag beats env beats file beats default.**')
  out.push('Lists given as a flag or an environment variable are comma-separated (`--trusted-proxies 10.0.0.0/8,192.168.0.0/16`);')
  out.push('settings marked *file only* are structured and can only come from the config file.')
  out.push('An empty environment variable counts as unset. A bad value stops `drawbridge serve` before it listens,')
  out.push('with exit code 2 and one line naming the setting the way you gave it.')
  out.push('')
  out.push('An annotated example: [config/drawbridge.example.yaml](../config/drawbridge.example.yaml).')
  out.push('')
  out.push('## Settings')
  out.push('')
  out.push('| file key | flag | environment | type | default | description |')
  out.push('| --- | --- | --- | --- | --- | --- |')
  out.push(`| — | ${code('--config')} | ${code('DRAWBRIDGE_CONFIG')} | path | — | YAML or JSON config file holding any of the keys below. |`)
  for (const s of SETTINGS) {
    const schema = props[s.key] as TSchema
    const desc = describe(s.key, schema)
    out.push(`| ${code(s.key)} | ${flagCell(s)} | ${envCell(s)} | ${cell(typeOf(schema))} | ${defaultOf(schema)} | ${cell(desc + constraints(schema))} |`)
  }
  const structured = SETTINGS.filter((s) => {
    const schema = props[s.key] as TSchema
    return schema.type === 'object' || (schema.type === 'array' && (schema.items as TSchema).type === 'object')
  })
  if (structured.length > 0) {
    out.push('')
    out.push('## Structured settings')
    for (const s of structured) {
      const schema = props[s.key] as TSchema
      const inner = schema.type === 'array' ? schema.items as TSchema : schema
      const prefix = schema.type === 'array' ? `${s.key}[]` : s.key
      out.push('')
      out.push(`### ${code(s.key)}`)
      out.push('')
      const desc = describe(s.key, schema)
      if (desc !== '') {
        out.push(desc)
        out.push('')
      }
      out.push('| key | type | default | notes |')
      out.push('| --- | --- | --- | --- |')
      out.push(...nestedRows(prefix, inner))
    }
  }
  out.push('')
  return out.join('\n')
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIG_DOC, renderConfigDocs())
  console.log('wrote docs/configuration.md')
}
