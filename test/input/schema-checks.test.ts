import t, { type Test } from 'tap'
import { request } from 'undici'
import { TypeCompiler, Value, type TSchema } from '../../src/input/typebox.js'
import { withDefaults } from '../../src/input/schema-defaults.js'
import { ConfigSchema } from '../../src/config/schema.js'
import { CONFIG_SCHEMA, isConfigShape } from '../../src/config/config-shape.generated.js'
import { loadConfig } from '../../src/config/load.js'
import { SharedStateSchema } from '../../src/state/state-schema.js'
import { isSharedStateShape, SHARED_STATE_SCHEMA } from '../../src/state/state-shape.generated.js'
import { stateProblem } from '../../src/state/state-check.js'
import { initialState } from '../../src/state/initial-state.js'
import { isReadyQuery } from '../../src/admin/probe-shapes.generated.js'
import { ReadyQuery } from '../../src/admin/probe-schemas.js'
import { isCurrent, TARGETS } from '../../scripts/gen-schema-checks.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'

/*
 * The checks a starting gateway runs are generated at build time from the
 * TypeBox schemas (scripts/gen-schema-checks.ts), so that it need not load
 * TypeBox. These tests hold the generated files to their schemas: committed
 * as rendered, deciding as TypeBox decides, defaults filled as Value.Default
 * fills them; and a started, probed gateway has not loaded TypeBox.
 */

t.test('the committed generated files are what the generator renders from the schemas', async (t) => {
  for (const target of TARGETS) t.ok(isCurrent(target), `${target.file} is current (npm run generate:checks rewrites it)`)
})

/** `doc` with the value at `path` replaced, one document per replacement. */
function variants (doc: unknown, replacements: unknown[]): unknown[] {
  const out: unknown[] = []
  const walk = (node: unknown, rebuild: (v: unknown) => unknown): void => {
    for (const r of replacements) out.push(rebuild(r))
    if (node === null || typeof node !== 'object') return
    if (Array.isArray(node)) {
      node.forEach((child, i) => { walk(child, (v) => rebuild(node.map((c, j) => j === i ? v : c))) })
      return
    }
    for (const [key, child] of Object.entries(node)) walk(child, (v) => rebuild({ ...node, [key]: v }))
    out.push(rebuild({ ...node, unexpected: 1 }))
  }
  walk(doc, (v) => v)
  return out
}

const REPLACEMENTS = [undefined, null, '', 'x', -1, 0, 1.5, 70000, true, [], ['x'], {}, { a: 1 }]

function agree (t: Test, name: string, schema: TSchema, generated: (v: unknown) => boolean, docs: unknown[]): void {
  const reference = TypeCompiler.Compile(schema)
  const disagreements = docs.filter((d) => generated(d) !== reference.Check(d)).map((d) => JSON.stringify(d))
  t.same(disagreements.slice(0, 3), [], `${name}: the generated check and TypeBox's agree on ${docs.length} documents`)
  t.ok(docs.some((d) => generated(d)) && docs.some((d) => !generated(d)), `${name}: both answers occur`)
}

t.test('the generated checks decide as TypeBox does, on valid documents and every one-field change of them', async (t) => {
  const config = structuredClone(loadConfig(['--upstream', 'http://127.0.0.1:1'], {}))
  const full = { ...config, webhooks: [{ url: 'https://hooks.example/x', events: ['*'], secret: 'shh' }], redis: { keyPrefix: 'p:', sentinels: [{ host: 'a', port: 26379 }] }, tokens: [{ name: 'ci', token: 'x'.repeat(16), role: 'read' }] }
  agree(t, 'config', ConfigSchema, isConfigShape, [config, full, ...variants(full, REPLACEMENTS), { ...full, webhooks: [{ url: 'not a url', events: [] }] }])

  const state = initialState()
  state.flags.demo = {
    key: 'demo',
    description: null,
    enabled: true,
    rollout: { percentage: 50 },
    variants: [{ name: 'a', weight: 1 }],
    rules: [{ attribute: 'country', in: ['NL'], variants: [{ name: 'a', weight: 1 }] }],
    gate: { paths: ['/x'], status: 404 },
    requires: null,
    createdAt: 'now',
    updatedAt: 'now'
  } as never
  state.overrides.demo = { alice: { enabled: true } }
  agree(t, 'state', SharedStateSchema, isSharedStateShape, [state, ...variants(state, REPLACEMENTS)])
  agree(t, 'readyz query', ReadyQuery, isReadyQuery, [{}, { exclude: 'store' }, { exclude: 'x' }, { exclude: ['store'] }, { v: '1' }, null])
})

t.test('a state that fails the check is explained by TypeBox\'s error walker, naming the field', async (t) => {
  const state = initialState() as unknown as Record<string, Record<string, unknown>>
  ;(state.maintenance as Record<string, unknown>).enabled = 'yes'
  t.match(stateProblem(state), /^state\.maintenance\.enabled expected boolean/)
  t.ok(SHARED_STATE_SCHEMA.properties.maintenance !== undefined)
})

t.test('withDefaults fills in what Value.Default does', async (t) => {
  const raws: Array<Record<string, unknown>> = [
    {},
    { upstream: 'http://a', listen: '1.2.3.4:5', trustedProxies: ['10.0.0.0/8'] },
    { webhooks: [{ url: 'https://h.example' }, { url: 'https://i.example', events: ['maintenance.on'] }] },
    { redis: {} },
    { redis: { keyPrefix: 'x:' }, tokens: [{ name: 'a', token: 'y'.repeat(16), role: 'admin' }] },
    { webhooks: 'not a list', redis: 'not a mapping', logLevel: 7 }
  ]
  for (const raw of raws) t.same(withDefaults(CONFIG_SCHEMA, structuredClone(raw)), Value.Default(ConfigSchema, structuredClone(raw)), JSON.stringify(raw))
  const defaults = structuredClone(CONFIG_SCHEMA.properties.tokens.default)
  ;(withDefaults(CONFIG_SCHEMA, {}) as { tokens: unknown[] }).tokens.push('x')
  t.same(CONFIG_SCHEMA.properties.tokens.default, defaults, 'defaults are copied, never shared with a loaded config')
})

// Reports, on SIGUSR2, which TypeBox modules the process has loaded (CommonJS: input/typebox.ts loads it that way).
const REPORT_HOOK = `data:text/javascript,${encodeURIComponent(`
import { createRequire } from 'node:module'
const require = createRequire(process.cwd() + '/')
process.on('SIGUSR2', () => { process.stdout.write('TYPEBOX_MODULES ' + Object.keys(require.cache).filter((k) => k.includes('@sinclair/typebox')).length + '\\n') })
`)}`

t.test('a started and probed gateway has not loaded TypeBox; a bad probe query loads it to explain the 400', async (t) => {
  const gw = await spawnGateway(t, ['--upstream', 'http://127.0.0.1:1', '--admin-token', 'a'.repeat(32)], { NODE_OPTIONS: `--import=${REPORT_HOOK}` })
  const loaded = async (): Promise<number> => {
    const line = new Promise<number>((resolve) => {
      const onData = (d: Buffer | string): void => {
        const m = /TYPEBOX_MODULES (\d+)/.exec(String(d))
        if (m !== null) { gw.proc.stdout?.off('data', onData); resolve(Number(m[1])) }
      }
      gw.proc.stdout?.on('data', onData)
    })
    gw.proc.kill('SIGUSR2')
    return await line
  }
  for (const path of ['/healthz', '/readyz', '/readyz?exclude=store', '/metrics']) {
    const res = await request(`http://${gw.admin}${path}`)
    await res.body.text()
    t.equal(res.statusCode, 200, path)
  }
  t.equal(await loaded(), 0, 'no TypeBox module loaded after start and probes')
  const bad = await request(`http://${gw.admin}/readyz?exclude=everything`)
  t.equal(bad.statusCode, 400)
  t.match(await bad.body.json(), { message: /^querystring\/exclude expected 'store'/ })
  t.ok(await loaded() > 0, 'explaining the 400 loaded it')
  t.equal(await gw.stop(), 0)
})
