import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

/**
 * End-to-end helpers: the real `drawbridge` binary (bin/drawbridge.js →
 * dist/), spawned as a user would. The binary runs the compiled code, so
 * dist/ is built once when missing (`npm test` builds it in pretest).
 */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const BIN = join(ROOT, 'bin', 'drawbridge.js')
const ENTRY = join(ROOT, 'dist', 'cli', 'main.js')
const BUILD_LOCK = join(ROOT, 'dist.build-lock')

async function runTsc (): Promise<void> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  await new Promise<void>((resolve) => {
    // Type errors elsewhere in the tree do not stop tsc from emitting, so the exit code is not the test.
    const proc = spawn(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'ignore' })
    proc.once('exit', () => { resolve() })
  })
}

/**
 * Runs `build` once if `output` is missing; parallel test files wait for
 * whichever one builds (a lock directory; one older than two minutes is from
 * a build that died).
 */
export async function buildOnce (output: string, lock: string, build: () => Promise<void>): Promise<void> {
  if (existsSync(output)) return
  try {
    mkdirSync(lock)
  } catch {
    // Someone else is building.
    for (let i = 0; i < 1200 && !existsSync(output); i++) {
      if (i % 50 === 0 && existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) break
      await sleep(100)
    }
    if (existsSync(output)) return
  }
  try {
    await build()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
  if (!existsSync(output)) throw new Error(`building did not produce ${output}`)
}

/** Builds dist/ once if it is missing (`npm test` builds it in pretest). */
export async function ensureBuilt (): Promise<void> {
  await buildOnce(ENTRY, BUILD_LOCK, runTsc)
}

/**
 * The parent's environment without any DRAWBRIDGE_* setting, plus `env`: tests never inherit a developer's config.
 * Nor tap's process tracker: tap puts `--import=@tapjs/processinfo` in NODE_OPTIONS for coverage, which this
 * project does not collect, and it costs every spawned gateway and CLI run ~0.2 s of start-up.
 */
export function cleanEnv (env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('DRAWBRIDGE_')) out[key] = value
  }
  const nodeOptions = withoutProcessInfo(out.NODE_OPTIONS)
  if (nodeOptions === '') delete out.NODE_OPTIONS
  else out.NODE_OPTIONS = nodeOptions
  return { ...out, ...env }
}

function withoutProcessInfo (nodeOptions: string | undefined): string {
  return (nodeOptions ?? '').split(' ').filter((option) => option !== '' && !option.includes('@tapjs/processinfo')).join(' ')
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `drawbridge <args>` to completion (client commands, or serve expected to fail). */
export async function runDrawbridge (args: string[], env: Record<string, string> = {}, timeoutMs = 20_000): Promise<CliResult> {
  await ensureBuilt()
  const proc = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  proc.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
  proc.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
  const timer = setTimeout(() => { proc.kill('SIGKILL') }, timeoutMs)
  const code = await new Promise<number | null>((resolve) => { proc.once('close', (c) => { resolve(c) }) })
  clearTimeout(timer)
  return { code, stdout, stderr }
}

export interface SpawnedGateway {
  /** Bound gateway `host:port`. */
  gateway: string
  /** Bound admin `host:port`. */
  admin: string
  proc: ChildProcess
  /** Everything written to stdout and stderr so far. */
  logs: () => string
  /** Sends `signal` (default SIGTERM) and resolves with the exit code (null if killed by a signal). */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/**
 * Spawns `drawbridge serve <args>` and resolves once it prints the ready line.
 * Both ports default to 127.0.0.1:0 unless `args`/`env` set them. The process
 * is killed at teardown if the test has not stopped it.
 */
export async function spawnGateway (t: Test, args: string[], env: Record<string, string> = {}): Promise<SpawnedGateway> {
  await ensureBuilt()
  const defaults: string[] = []
  if (!args.includes('--listen') && env.DRAWBRIDGE_LISTEN === undefined) defaults.push('--listen', '127.0.0.1:0')
  if (!args.includes('--admin-listen') && env.DRAWBRIDGE_ADMIN_LISTEN === undefined) defaults.push('--admin-listen', '127.0.0.1:0')
  const proc = spawn(process.execPath, [BIN, 'serve', ...defaults, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  const exited = new Promise<number | null>((resolve) => { proc.once('exit', (code) => { resolve(code) }) })
  let exitCode: number | null | undefined
  void exited.then((code) => { exitCode = code })

  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (exitCode !== undefined) return exitCode
    proc.kill(signal)
    const killer = setTimeout(() => { proc.kill('SIGKILL') }, 20_000)
    const code = await exited
    clearTimeout(killer)
    return code
  }
  t.teardown(async () => { await stop('SIGKILL') })

  const ready = await new Promise<{ gateway: string, admin: string }>((resolve, reject) => {
    let pending = ''
    const timer = setTimeout(() => { reject(new Error(`drawbridge not ready after 20 s:\n${output}`)) }, 20_000)
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => { output += d })
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
      output += d
      pending += d
      let nl: number
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        if (!line.includes('"drawbridge ready"')) continue
        const parsed = JSON.parse(line) as { gateway: string, admin: string }
        clearTimeout(timer)
        resolve({ gateway: parsed.gateway, admin: parsed.admin })
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`drawbridge exited with ${String(code)} before it was ready:\n${output}`))
    })
  })
  return { ...ready, proc, logs: () => output, stop }
}
