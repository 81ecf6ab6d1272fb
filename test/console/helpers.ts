import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { ROOT } from '../helpers/spawn-gateway.js'

const UI_INDEX = join(ROOT, 'dist', 'ui', 'index.html')
const LOCK = join(ROOT, 'dist.ui-build-lock')

/** Builds the console's assets (dist/ui/) once if they are missing; `npm test` builds them in pretest. */
export async function ensureConsoleBuilt (): Promise<void> {
  if (existsSync(UI_INDEX)) return
  try {
    mkdirSync(LOCK, { recursive: false })
  } catch {
    for (let i = 0; i < 600 && !existsSync(UI_INDEX); i++) {
      if (i % 50 === 0 && existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 60_000) break
      await sleep(100)
    }
    if (existsSync(UI_INDEX)) return
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const proc = spawn(process.execPath, [join(ROOT, 'scripts', 'build-console.mjs')], { cwd: ROOT, stdio: 'ignore' })
      proc.once('exit', (code) => { code === 0 ? resolve() : reject(new Error(`build-console exited with ${String(code)}`)) })
    })
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}
