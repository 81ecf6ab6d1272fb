import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Finds a real Helm binary without downloading anything at test time: HELM_BIN,
 * else the Helm 3 that the dev dependency @aws-cdk/asset-kubectl-v20 ships
 * inside its layer.zip (extracted once under node_modules/.cache), else `helm`
 * on PATH. The packaged one comes first so rendered examples match in CI and on
 * every developer's machine.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const LAYER_ZIP = join(ROOT, 'node_modules', '@aws-cdk', 'asset-kubectl-v20', 'lib', 'layer.zip')
const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'drawbridge-helm')

function works (bin: string): boolean {
  try {
    execFileSync(bin, ['version', '--short'], { stdio: 'pipe', timeout: 10_000 })
    return true
  } catch {
    return false
  }
}

function extractPackaged (): string | null {
  if (!existsSync(LAYER_ZIP)) return null
  const target = join(CACHE_DIR, 'helm')
  if (existsSync(target)) return target
  mkdirSync(CACHE_DIR, { recursive: true })
  // Extract into a private directory, then rename: test files running in
  // parallel never see a half-written binary.
  const tmp = mkdtempSync(join(CACHE_DIR, 'extract-'))
  try {
    execFileSync('unzip', ['-o', '-q', LAYER_ZIP, 'helm/helm', '-d', tmp], { stdio: 'pipe', timeout: 60_000 })
    chmodSync(join(tmp, 'helm', 'helm'), 0o755)
    renameSync(join(tmp, 'helm', 'helm'), target)
  } catch (err) {
    if (!existsSync(target)) throw err
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  return target
}

export function findHelm (): string | null {
  const fromEnv = process.env.HELM_BIN
  if (fromEnv !== undefined && fromEnv !== '') return works(fromEnv) ? fromEnv : null
  const packaged = extractPackaged()
  if (packaged !== null && works(packaged)) return packaged
  return works('helm') ? 'helm' : null
}
