import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/*
 * The architecture, checked on the code: generic building blocks at the
 * bottom, the store above them, products above the store (each owning its
 * routes, service and pure core), the gateway and the admin port shell above
 * the products, the CLI and the server on top. An import may only run down
 * (or stay inside its own folder); products of one layer do not import each
 * other.
 */
const LAYERS: string[][] = [
  ['errors.ts', 'version.ts', 'input', 'net', 'http', 'ipc'],
  ['config', 'logger.ts'],
  ['state', 'events.ts', 'metrics.ts', 'process-metrics.ts', 'metrics-aggregate.ts', 'context.ts'],
  ['admin-plugin.ts'],
  ['maintenance', 'webhooks'],
  ['flags'],
  ['upstreams'],
  ['migrations'],
  ['proxy', 'cluster'],
  ['console'],
  ['admin'],
  ['server.ts'],
  ['cli']
]
/** Layers whose units may import each other: the building blocks and the shared plumbing. */
const OPEN_LAYERS = new Set([0, 1, 2])

/** Files over the size rule (~350 lines), each capped at its size when the rule came in: they may shrink, never grow. */
const OVERSIZED = new Map<string, number>([])
const MAX_LINES = 350

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src')

function sources (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [])
}

function unitOf (file: string): string {
  return relative(SRC, file).split('/')[0] as string
}

function layerOf (unit: string): number {
  return LAYERS.findIndex((layer) => layer.includes(unit))
}

const files = sources(SRC)

t.test('every folder and top-level file of src/ has a layer', async (t) => {
  const unplaced = [...new Set(files.map(unitOf))].filter((u) => layerOf(u) < 0)
  t.same(unplaced, [], 'add new folders to LAYERS')
})

t.test('imports run down, never up or across products', async (t) => {
  const wrong: string[] = []
  for (const file of files) {
    const from = unitOf(file)
    for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = normalize(join(dirname(file), match[1] as string)).replace(/\.js$/, '.ts')
      const to = unitOf(target)
      if (to === from) continue
      const [a, b] = [layerOf(from), layerOf(to)]
      if (b < a || (a === b && OPEN_LAYERS.has(a))) continue
      wrong.push(`${relative(SRC, file)} imports ${relative(SRC, target)} (layer ${a} → ${b})`)
    }
  }
  t.same(wrong, [])
})

t.test(`files stay under ${MAX_LINES} lines (the listed ones may only shrink)`, async (t) => {
  const over: string[] = []
  // Written by scripts/gen-schema-checks.ts and checked against it (test/input/schema-checks.test.ts), not read by people.
  for (const file of files.filter((f) => !f.endsWith('.generated.ts'))) {
    const lines = readFileSync(file, 'utf8').split('\n').length - 1
    const name = relative(SRC, file)
    const cap = OVERSIZED.get(name) ?? MAX_LINES
    if (lines > cap) over.push(`${name}: ${lines} lines (at most ${cap})`)
  }
  t.same(over, [])
})
