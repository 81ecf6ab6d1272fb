import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { buildOnce, ROOT } from '../helpers/spawn-gateway.js'

/** Builds the console's assets (dist/ui/) once if they are missing; `npm test` builds them in pretest. */
export async function ensureConsoleBuilt (): Promise<void> {
  await buildOnce(join(ROOT, 'dist', 'ui', 'index.html'), join(ROOT, 'dist.ui-build-lock'), async () => {
    await new Promise<void>((resolve, reject) => {
      const proc = spawn(process.execPath, [join(ROOT, 'scripts', 'build-console.mjs')], { cwd: ROOT, stdio: 'ignore' })
      proc.once('exit', (code) => { code === 0 ? resolve() : reject(new Error(`build-console exited with ${String(code)}`)) })
    })
  })
}
