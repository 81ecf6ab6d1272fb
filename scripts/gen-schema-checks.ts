import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { TypeCompiler, type TSchema } from '../src/input/typebox.js'
import { ConfigSchema } from '../src/config/schema.js'
import { SharedStateSchema } from '../src/state/state-schema.js'
import { Healthy, NotReady, Ready, ReadyQuery } from '../src/admin/probe-schemas.js'

/**
 * Writes the schemas a starting (and a probed, idle) gateway needs as plain
 * constants, each with TypeBox's compiled check as source code: Fastify does
 * the same for its own config (lib/configValidator.js, from ajv standalone).
 * Loading TypeBox and compiling the checks at start cost an idle gateway
 * about 4 MB of RSS; TypeBox is now loaded only with the full admin API or on
 * the first document that fails a check (input/schema-errors.ts).
 *
 * test/input/schema-checks.test.ts fails when a committed file is not what
 * this renders; `npm run generate:checks` rewrites them.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

interface Constant { name: string, schema: TSchema, type: string, doc: string }
interface Check { name: string, schema: TSchema, type: string, doc: string }
interface Target { file: string, from: string, imports: string[], constants: Constant[], checks: Check[] }

export const TARGETS: Target[] = [
  {
    file: 'src/config/config-shape.generated.ts',
    from: 'src/config/schema.ts',
    imports: ["import type { Config, ConfigSchema } from './schema.js'"],
    constants: [{ name: 'CONFIG_SCHEMA', schema: ConfigSchema, type: 'typeof ConfigSchema', doc: 'ConfigSchema as data: the loader reads its defaults, `serve --help` its descriptions.' }],
    checks: [{ name: 'isConfigShape', schema: ConfigSchema, type: 'Config', doc: 'TypeCompiler.Code(ConfigSchema).' }]
  },
  {
    file: 'src/state/state-shape.generated.ts',
    from: 'src/state/state-schema.ts',
    imports: ["import type { SharedStateSchema } from './state-schema.js'", "import type { SharedState } from './types.js'"],
    constants: [{ name: 'SHARED_STATE_SCHEMA', schema: SharedStateSchema, type: 'typeof SharedStateSchema', doc: 'SharedStateSchema as data, for the error walker when a state fails its check.' }],
    checks: [{ name: 'isSharedStateShape', schema: SharedStateSchema, type: 'SharedState', doc: 'TypeCompiler.Code(SharedStateSchema).' }]
  },
  {
    file: 'src/admin/probe-shapes.generated.ts',
    from: 'src/admin/probe-schemas.ts',
    imports: ["import type { Healthy, NotReady, Ready, ReadyQuery } from './probe-schemas.js'"],
    constants: [
      { name: 'HEALTHY', schema: Healthy, type: 'typeof Healthy', doc: '`/healthz` 200.' },
      { name: 'READY', schema: Ready, type: 'typeof Ready', doc: '`/readyz` 200.' },
      { name: 'NOT_READY', schema: NotReady, type: 'typeof NotReady', doc: '`/readyz` 503.' },
      { name: 'READY_QUERY', schema: ReadyQuery, type: 'typeof ReadyQuery', doc: '`/readyz` query string.' }
    ],
    checks: [{ name: 'isReadyQuery', schema: ReadyQuery, type: '{ exclude?: \'store\' }', doc: 'TypeCompiler.Code(ReadyQuery).' }]
  }
]

/**
 * A schema as a JavaScript literal, TypeBox's symbol keys (Kind, Optional)
 * included, so TypeBox can walk it later. One line per top-level property:
 * the file is data, and a smaller source is less for the gateway to hold.
 */
function literal (value: unknown, top = true): string {
  if (value === null || typeof value !== 'object') {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') throw new Error(`cannot write ${typeof value} into a schema constant`)
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, false)).join(', ')}]`
  if (Object.getPrototypeOf(value) !== Object.prototype) throw new Error(`cannot write a ${Object.prototype.toString.call(value)} into a schema constant`)
  const entries: string[] = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${literal(v, false)}`)
  for (const symbol of Object.getOwnPropertySymbols(value)) {
    const key = Symbol.keyFor(symbol)
    if (key === undefined) throw new Error(`cannot write the unregistered symbol ${String(symbol)}`)
    entries.push(`[Symbol.for(${JSON.stringify(key)})]: ${literal((value as Record<symbol, unknown>)[symbol], false)}`)
  }
  if (entries.length === 0) return '{}'
  return top ? `{\n  ${entries.join(',\n  ')}\n}` : `{ ${entries.join(', ')} }`
}

function checkSource (check: Check): string {
  const code = TypeCompiler.Code(check.schema)
  // Anything else the compiled check could call (kind, hash: custom kinds, Uint8Array hashing) has no definition here.
  const unknown = /\b(kind|hash)\(/.exec(code)
  if (unknown !== null) throw new Error(`${check.name}: the compiled check calls ${unknown[1]}(), which the generated file does not define`)
  const body = code.split('\n').map((line) => line === '' ? line : '  ' + line).join('\n')
  return `/** ${check.doc} */\nexport const ${check.name} = ((format) => {\n${body}\n})(checkFormat) as (value: unknown) => value is ${check.type}\n`
}

export function render (target: Target): string {
  return [
    '// @ts-nocheck: the checks are TypeBox\'s generated JavaScript.',
    `// Generated by scripts/gen-schema-checks.ts from ${target.from}: edit the schema, then run \`npm run generate:checks\`.`,
    ...target.imports,
    `import { checkFormat } from '${relativeInput(target.file)}'`,
    '',
    ...target.constants.map((c) => `/** ${c.doc} */\nexport const ${c.name}: ${c.type} = ${literal(c.schema)}\n`),
    ...target.checks.map(checkSource)
  ].join('\n')
}

function relativeInput (file: string): string {
  return '../'.repeat(file.split('/').length - 2) + 'input/formats.js'
}

export function isCurrent (target: Target): boolean {
  return readFileSync(join(ROOT, target.file), 'utf8') === render(target)
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const target of TARGETS) {
    writeFileSync(join(ROOT, target.file), render(target))
    console.log(`wrote ${target.file}`)
  }
}
