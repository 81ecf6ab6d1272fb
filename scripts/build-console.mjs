// Builds the operator console (console/) into dist/ui/: one JS and one CSS
// file, minified, named by content hash, and index.html pointing at them.
// Run by `npm run build` (and so by `prepare`); esbuild is a dev dependency,
// the output is plain files served by the admin port (src/console/).
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'ui')
const assets = join(out, 'assets')

rmSync(out, { recursive: true, force: true })
mkdirSync(assets, { recursive: true })

const result = await build({
  entryPoints: { app: join(root, 'console', 'src', 'main.tsx') },
  outdir: assets,
  entryNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  // Browsers of the last few years: what an operator's laptop or phone runs.
  target: ['chrome111', 'firefox115', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning'
})

const files = Object.keys(result.metafile.outputs).map((p) => join(root, p))
const js = files.find((f) => f.endsWith('.js'))
const css = files.find((f) => f.endsWith('.css'))
if (js === undefined || css === undefined) throw new Error(`console build: expected one .js and one .css, got ${files.join(', ')}`)

const html = readFileSync(join(root, 'console', 'index.html'), 'utf8')
  .replace('{{js}}', basename(js))
  .replace('{{css}}', basename(css))
writeFileSync(join(out, 'index.html'), html)

// What the console adds to the package, for the docs and the size test.
const sizes = {}
for (const file of [join(out, 'index.html'), js, css]) {
  const bytes = readFileSync(file)
  sizes[basename(file)] = { bytes: statSync(file).size, gzipBytes: gzipSync(bytes, { level: 9 }).length }
}
const total = Object.values(sizes).reduce((a, s) => ({ bytes: a.bytes + s.bytes, gzipBytes: a.gzipBytes + s.gzipBytes }), { bytes: 0, gzipBytes: 0 })
writeFileSync(join(out, 'manifest.json'), JSON.stringify({ files: sizes, total }, null, 2) + '\n')
console.log(`console: ${total.bytes} bytes (${total.gzipBytes} gzipped) in dist/ui/`)
