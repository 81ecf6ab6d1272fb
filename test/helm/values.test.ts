import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Ajv } from 'ajv'
import { parse, parseAllDocuments } from 'yaml'
import { CHART_DIR, EXAMPLES_DIR } from '../../scripts/render-helm-examples.js'

// Checks that need no Helm: the schema, the values the templates read, and the
// committed rendered examples as YAML.

const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>
const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as object
const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string, version: string }

function deepMerge (base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return over
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) }
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v)
  return out
}

t.test('values.schema.json is a valid draft-07 schema that accepts values.yaml and every example', async (t) => {
  const ajv = new Ajv({ allErrors: true, strict: false })
  const validate = ajv.compile(schema)
  t.ok(validate(values), JSON.stringify(validate.errors))
  const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.values.yaml'))
  t.ok(files.length >= 3, 'examples exist')
  for (const file of files) {
    const merged = deepMerge(values, parse(readFileSync(join(EXAMPLES_DIR, file), 'utf8')))
    t.ok(validate(merged), `${file}: ${JSON.stringify(validate.errors)}`)
  }
})

t.test('the schema rejects what the chart cannot render', async (t) => {
  const validate = new Ajv({ allErrors: true, strict: false }).compile(schema)
  t.notOk(validate(deepMerge(values, { mode: 'ingress' })), 'unknown mode')
  t.notOk(validate(deepMerge(values, { auth: { adminToken: 'short' } })), 'short token')
  t.notOk(validate(deepMerge(values, { upstream: 'shop:80' })), 'upstream without scheme')
  t.notOk(validate(deepMerge(values, { ports: { gateway: 70000 } })), 'port out of range')
  t.notOk(validate(deepMerge(values, { replicas: 2 })), 'misspelt key')
})

t.test('the default image tag follows the chart appVersion', async (t) => {
  t.equal((values.image as { tag: string }).tag, chart.appVersion)
})

t.test('every .Values path a template reads exists in values.yaml', async (t) => {
  const templatesDir = join(CHART_DIR, 'templates')
  const seen = new Set<string>()
  for (const file of readdirSync(templatesDir)) {
    // Usage examples inside template comments and escaped NOTES text are not reads.
    const text = readFileSync(join(templatesDir, file), 'utf8')
      .replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '')
      .split('\n').filter((line) => !line.includes('{{"{{"}}')).join('\n')
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) seen.add((m[1] as string).slice(1))
  }
  t.ok(seen.size > 40, `found ${seen.size} paths`)
  for (const path of seen) {
    let node: unknown = values
    for (const part of path.split('.')) {
      t.ok(typeof node === 'object' && node !== null && part in node, `values.yaml has ${path}`)
      if (typeof node !== 'object' || node === null) break
      node = (node as Record<string, unknown>)[part]
    }
  }
})

t.test('each committed rendered example is valid YAML of Kubernetes objects', async (t) => {
  const rendered = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml') && !f.endsWith('.values.yaml'))
  t.ok(rendered.length >= 4)
  for (const file of rendered) {
    const docs = parseAllDocuments(readFileSync(join(EXAMPLES_DIR, file), 'utf8'))
    for (const doc of docs) {
      t.same(doc.errors, [], `${file}: parses`)
      const obj = doc.toJS() as { apiVersion?: string, kind?: string, metadata?: { name?: string } } | null
      if (obj === null) continue
      t.ok(obj.apiVersion !== undefined && obj.kind !== undefined && obj.metadata?.name !== undefined, `${file}: ${obj.kind ?? '?'} has apiVersion, kind, metadata.name`)
    }
  }
})
