import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import t from 'tap'
import { BIN, cleanEnv, ensureBuilt, ROOT } from '../helpers/spawn-gateway.js'

/*
 * Run the way users run it (npx, the Docker entrypoint: the executable, through
 * its shebang), the gateway gets the runtime settings bin/drawbridge.js
 * explains: V8's young generation capped, no memory reducer, one malloc arena
 * (idle RSS, docs/performance.md). Other tests run `node bin/drawbridge.js`,
 * which sets none of them, so this one checks the shebang itself.
 */
t.test('the executable runs node with its V8 flags and one malloc arena', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  await ensureBuilt()
  const proc = spawn(BIN, ['serve', '--upstream', 'http://127.0.0.1:1', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--log-level', 'info'],
    { cwd: ROOT, env: cleanEnv({ MALLOC_ARENA_MAX: '8' }), stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => { proc.kill('SIGKILL') })
  for await (const line of createInterface({ input: proc.stdout })) if (line.includes('"drawbridge ready"')) break
  const cmdline = readFileSync(`/proc/${String(proc.pid)}/cmdline`, 'utf8').split('\0')
  const environ = readFileSync(`/proc/${String(proc.pid)}/environ`, 'utf8').split('\0')
  t.match(cmdline[0], /node$/, 'the process is node itself (env execs it)')
  t.ok(cmdline.includes('--max-semi-space-size=4') && cmdline.includes('--no-memory-reducer'), cmdline.join(' '))
  t.ok(environ.includes('MALLOC_ARENA_MAX=1'), 'one arena, whatever the environment said')
  proc.kill('SIGTERM')
})
