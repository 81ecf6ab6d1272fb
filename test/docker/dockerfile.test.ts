import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { builtinModules } from 'node:module'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { ensureBuilt } from '../helpers/spawn-gateway.js'
import { copiesOf, envOf, execForm, parseDockerfile, type Instruction } from './dockerfile.js'

// No Docker engine runs here, so this checks what can be checked without one:
// the Dockerfile's structure, that everything it copies exists (after
// `npm run build`) and is not excluded by .dockerignore, that the runtime
// needs no dev dependency, and that the image's start command works from a
// directory laid out like the image's /app.

// dist/ is what the image runs; npm test builds it first, a lone run here builds it if missing.
await ensureBuilt()

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const { stages } = parseDockerfile(join(ROOT, 'Dockerfile'))
const build = stages.find((s) => s.name === 'build')
const runtime = stages[stages.length - 1]
const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'))

t.test('multi-stage on node:20-bookworm-slim; runtime is non-root with pg_dump, healthcheck, entrypoint', async (t) => {
  t.ok(build, 'a build stage')
  t.equal(stages.length, 2)
  for (const s of stages) t.equal(s.from, 'node:20-bookworm-slim', `stage ${s.index} base`)
  const buildRuns = build?.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n') ?? ''
  t.match(buildRuns, /npm ci/)
  t.match(buildRuns, /npm run build/)
  t.match(buildRuns, /npm prune --omit=dev/)

  const ins = (k: string): Instruction[] => runtime?.instructions.filter((i) => i.keyword === k) ?? []
  t.match(ins('RUN').map((i) => i.args).join('\n'), /apt-get install[^;]*postgresql-client/)
  const user = ins('USER').at(-1)?.args ?? 'root'
  t.notOk(/^(0|root)(:|$)/.test(user), `runs as ${user}`)
  t.match(user, /^\d+:\d+$/, 'numeric uid:gid, verifiable by runAsNonRoot')
  t.same(execForm(ins('ENTRYPOINT')[0]), ['drawbridge'])
  t.same(execForm(ins('CMD')[0]), ['serve'])
  const hc = ins('HEALTHCHECK')[0]?.args ?? ''
  t.match(hc, /CMD \["node", "\/app\/scripts\/docker-healthcheck\.mjs"\]/)
  const env = runtime !== undefined ? envOf(runtime) : {}
  t.equal(env.DRAWBRIDGE_LISTEN, '0.0.0.0:8080')
  t.equal(env.DRAWBRIDGE_ADMIN_LISTEN, '0.0.0.0:9090')
  t.equal(env.NODE_ENV, 'production')
  t.same(ins('EXPOSE')[0]?.args, '8080 9090')
})

function ignored (path: string): boolean {
  const clean = path.replace(/^\.\//, '').replace(/\/$/, '')
  return ignore.some((p) => {
    const pat = p.replace(/^\//, '').replace(/\/$/, '')
    if (pat.includes('*')) {
      const re = new RegExp('^' + pat.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '(/|$)')
      return re.test(clean)
    }
    return clean === pat || clean.startsWith(pat + '/')
  })
}

t.test('every COPY source exists and survives .dockerignore', async (t) => {
  t.ok(existsSync(join(ROOT, 'dist', 'cli', 'main.js')), 'dist/ is built (npm run build runs before npm test)')
  // What the build stage's /app holds: its own COPYs plus npm ci and the build.
  const buildApp = new Set(['node_modules', 'dist'])
  for (const c of build !== undefined ? copiesOf(build) : []) {
    for (const src of c.sources) {
      t.ok(existsSync(join(ROOT, src)), `build stage: ${src} exists`)
      t.notOk(ignored(src), `build stage: ${src} is not in .dockerignore`)
      buildApp.add(src.replace(/\/$/, ''))
    }
  }
  for (const c of runtime !== undefined ? copiesOf(runtime) : []) {
    for (const src of c.sources) {
      if (c.from === 'build') {
        const rel = src.replace(/^\/app\//, '')
        t.ok(buildApp.has(rel.split('/')[0] as string), `runtime: ${src} is produced by the build stage`)
        t.ok(existsSync(join(ROOT, rel)), `runtime: ${rel} exists after a build`)
      } else {
        t.ok(existsSync(join(ROOT, src)), `runtime: ${src} exists`)
        t.notOk(ignored(src), `runtime: ${src} is not in .dockerignore`)
      }
    }
  }
  t.ok(existsSync(join(ROOT, 'config', 'drawbridge.example.yaml')), 'the example config ships in config/')
  t.ok(existsSync(join(ROOT, 'static', 'maintenance.html')), 'the maintenance page ships in static/')
})

function jsFiles (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry)
    if (statSync(p).isDirectory()) out.push(...jsFiles(p))
    else if (p.endsWith('.js')) out.push(p)
  }
  return out
}

t.test('the compiled code imports only production dependencies', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  const prod = new Set(Object.keys(pkg.dependencies))
  const builtins = new Set(builtinModules)
  const files = [...jsFiles(join(ROOT, 'dist')), join(ROOT, 'bin', 'drawbridge.js')]
  for (const file of files) {
    const text = readFileSync(file, 'utf8')
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s+['"]([^'"]+)['"]/g)) {
      const spec = (m[1] ?? m[2] ?? m[3]) as string
      if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] as string
      t.ok(prod.has(name), `${file.slice(ROOT.length + 1)} imports ${name}, a production dependency`)
    }
  }
})

/**
 * A directory laid out like the image's /app: dist, bin, static, config,
 * package.json copied; node_modules holding only what `npm prune --omit=dev`
 * keeps (the non-dev top-level packages of the lockfile, symlinked).
 */
function imageLayout (t: Test): { app: string, bin: string } {
  const root = mkdtempSync(join(tmpdir(), 'drawbridge-image-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const app = join(root, 'app')
  mkdirSync(app)
  for (const d of ['dist', 'bin', 'static', 'config']) cpSync(join(ROOT, d), join(app, d), { recursive: true })
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'))
  cpSync(join(ROOT, 'scripts', 'docker-healthcheck.mjs'), join(app, 'scripts', 'docker-healthcheck.mjs'))
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> }
  for (const [path, meta] of Object.entries(lock.packages)) {
    if (!path.startsWith('node_modules/') || path.slice('node_modules/'.length).includes('node_modules/') || meta.dev === true) continue
    const target = join(ROOT, path)
    if (!existsSync(target)) continue
    mkdirSync(dirname(join(app, path)), { recursive: true })
    symlinkSync(target, join(app, path))
  }
  const bin = join(root, 'usr-local-bin')
  mkdirSync(bin)
  symlinkSync(join(app, 'bin', 'drawbridge.js'), join(bin, 'drawbridge'))
  return { app, bin }
}

function imageEnv (layout: { bin: string }, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: `${layout.bin}:${process.env.PATH ?? ''}`, HOME: tmpdir() }
  Object.assign(env, runtime !== undefined ? envOf(runtime) : {}, extra)
  return env
}

function imageCommand (): string[] {
  const entry = execForm(runtime?.instructions.find((i) => i.keyword === 'ENTRYPOINT')) ?? []
  const cmd = execForm(runtime?.instructions.find((i) => i.keyword === 'CMD')) ?? []
  return [...entry, ...cmd]
}

t.test('drawbridge --help works in the image layout', async (t) => {
  const layout = imageLayout(t)
  const res = spawnSync('drawbridge', ['--help'], { cwd: layout.app, env: imageEnv(layout, {}), encoding: 'utf8', timeout: 20_000 })
  t.equal(res.status, 0, res.stderr)
  t.match(res.stdout + res.stderr, /serve/)
})

t.test('with the image defaults (admin on 0.0.0.0) and no token, serve refuses to start (exit 2)', async (t) => {
  const layout = imageLayout(t)
  const [cmd, ...args] = imageCommand()
  const res = spawnSync(cmd as string, args, { cwd: layout.app, env: imageEnv(layout, { DRAWBRIDGE_UPSTREAM: 'http://127.0.0.1:9' }), encoding: 'utf8', timeout: 20_000 })
  t.equal(res.status, 2, 'config error exit code')
  t.match(res.stderr + res.stdout, /token/i)
})

t.test('the image command serves: ready line, /healthz, proxying, healthcheck script, SIGTERM', async (t) => {
  const upstream = createServer((req, res) => { res.setHeader('content-type', 'text/plain'); res.end(`upstream saw ${req.url ?? ''}`) })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { upstream.close() })
  const layout = imageLayout(t)
  const [cmd, ...args] = imageCommand()
  const backups = mkdtempSync(join(tmpdir(), 'drawbridge-backups-'))
  t.teardown(() => rmSync(backups, { recursive: true, force: true }))
  const proc: ChildProcess = spawn(cmd as string, args, {
    cwd: layout.app,
    env: imageEnv(layout, {
      DRAWBRIDGE_UPSTREAM: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      // Port 0 instead of the image's fixed ports: tests run side by side.
      DRAWBRIDGE_LISTEN: '127.0.0.1:0',
      DRAWBRIDGE_ADMIN_LISTEN: '127.0.0.1:0',
      DRAWBRIDGE_ADMIN_TOKEN: 'docker-test-token-0123456789',
      DRAWBRIDGE_BACKUP_DIR: backups
    }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL') })
  let out = ''
  const ready = await new Promise<{ gateway: string, admin: string }>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no ready line in 20 s:\n${out}`)) }, 20_000)
    proc.stderr?.on('data', (c: Buffer) => { out += c.toString() })
    proc.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      for (const line of out.split('\n')) {
        if (!line.includes('"drawbridge ready"')) continue
        clearTimeout(timer)
        resolve(JSON.parse(line) as { gateway: string, admin: string })
      }
    })
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`exited ${String(code)}:\n${out}`)) })
  })
  t.match(ready.gateway, /^127\.0\.0\.1:\d+$/)

  const health = await fetch(`http://${ready.admin}/healthz`)
  t.equal(health.status, 200)
  const proxied = await fetch(`http://${ready.gateway}/hello`)
  t.equal(proxied.status, 200)
  t.equal(await proxied.text(), 'upstream saw /hello')

  const hc = spawnSync('node', [join(layout.app, 'scripts', 'docker-healthcheck.mjs')], { env: { ...process.env, DRAWBRIDGE_ADMIN_LISTEN: ready.admin }, timeout: 10_000 })
  t.equal(hc.status, 0, 'HEALTHCHECK command passes against the running process')
  const hcDown = spawnSync('node', [join(layout.app, 'scripts', 'docker-healthcheck.mjs')], { env: { ...process.env, DRAWBRIDGE_ADMIN_LISTEN: '127.0.0.1:9' }, timeout: 10_000 })
  t.equal(hcDown.status, 1, 'and fails when nothing answers')

  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => { resolve(code) }))
  proc.kill('SIGTERM')
  t.equal(await exited, 0, 'SIGTERM: drains and exits 0')
})
