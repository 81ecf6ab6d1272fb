import { execFileSync } from 'node:child_process'
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { findHelm } from './helm-binary.js'

/**
 * Renders the chart's examples with a real Helm: every
 * helm/drawbridge/examples/<name>.values.yaml becomes <name>.yaml, and the
 * sidecar application chart in helm/examples/sidecar-app becomes
 * sidecar-app.yaml. test/helm checks the committed files match a fresh render;
 * `npm run helm:examples` rewrites them.
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const CHART_DIR = join(ROOT, 'helm', 'drawbridge')
export const EXAMPLES_DIR = join(CHART_DIR, 'examples')
export const SIDECAR_APP_DIR = join(ROOT, 'helm', 'examples', 'sidecar-app')

const HEADER = '# Rendered by scripts/render-helm-examples.ts with a real Helm; do not edit by hand.\n'

export function helmTemplate (helm: string, release: string, chart: string, args: string[] = []): string {
  return execFileSync(helm, ['template', release, chart, '--namespace', 'shop', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000
  })
}

/** The application chart with this chart as its dependency, laid out as `helm dependency build` would. */
export function withSidecarDependency<T> (fn: (chartDir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-sidecar-app-'))
  try {
    cpSync(SIDECAR_APP_DIR, dir, { recursive: true })
    cpSync(CHART_DIR, join(dir, 'charts', 'drawbridge'), { recursive: true })
    return fn(dir)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function renderExamples (helm: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const file of readdirSync(EXAMPLES_DIR).sort()) {
    if (!file.endsWith('.values.yaml')) continue
    const name = file.slice(0, -'.values.yaml'.length)
    const release = name.startsWith('sidecar') ? 'shop' : 'gate'
    out.set(`${name}.yaml`, HEADER + helmTemplate(helm, release, CHART_DIR, ['-f', join(EXAMPLES_DIR, file)]))
  }
  out.set('sidecar-app.yaml', HEADER + withSidecarDependency((dir) => helmTemplate(helm, 'shop', dir)))
  return out
}

export function readCommittedExample (name: string): string {
  return readFileSync(join(EXAMPLES_DIR, name), 'utf8')
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const helm = findHelm()
  if (helm === null) {
    console.error('No helm binary: run npm ci (it installs @aws-cdk/asset-kubectl-v20) or set HELM_BIN')
    process.exitCode = 1
  } else {
    for (const [name, text] of renderExamples(helm)) {
      writeFileSync(join(EXAMPLES_DIR, name), text)
      console.log(`wrote helm/drawbridge/examples/${name}`)
    }
  }
}
