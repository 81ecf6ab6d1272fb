import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { tempDir } from '../migrations/helpers.js'
import { BIN, ROOT, type SpawnedGateway } from '../helpers/spawn-gateway.js'

/*
 * Running the runbooks' shell blocks (one test file per runbook, so they run
 * side by side): as written against a real gateway, upstream
 * and database, in document order, so a doc step that stops working fails
 * here. The only rewrite is the example host (https://shop.example.com) to the
 * gateway's address. Expectations come from the docs' own comments: a
 * trailing `# 503 ...`/`# 302` after a curl that prints the status, and a
 * `# drawbridge: <error>` line for a step the doc says is refused.
 */

export const TOKEN = 'runbook-admin-token-0123456789'
const SHOP = 'https://shop.example.com'

export interface Block { lang: string, code: string, line: number }

export function blocks (file: string): Block[] {
  const text = readFileSync(join(ROOT, 'docs', file), 'utf8')
  const out: Block[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i] as string)
    if (open === null) continue
    const start = i
    const body: string[] = []
    for (i++; i < lines.length && !(lines[i] as string).startsWith('```'); i++) body.push(lines[i] as string)
    out.push({ lang: open[1] as string, code: body.join('\n'), line: start + 1 })
  }
  return out
}

interface Result { status: number | null, stdout: string, stderr: string }
export interface Shell { run: (code: string) => Promise<Result>, env: Record<string, string> }

export async function shell (t: Test, gw: SpawnedGateway): Promise<Shell> {
  const dir = await tempDir(t, 'drawbridge-runbook-')
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  // `drawbridge` on PATH, as after `npm install -g` or inside the image.
  writeFileSync(join(bin, 'drawbridge'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(bin, 'drawbridge'), 0o755)
  const env: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: dir,
    DRAWBRIDGE_ADMIN_URL: `http://${gw.admin}`,
    DRAWBRIDGE_ADMIN_TOKEN: TOKEN
  }
  return {
    env,
    // Asynchronous on purpose: the upstream lives in this process and must keep answering while a step runs.
    async run (code) {
      const script = code.replaceAll(SHOP, `http://${gw.gateway}`)
      const child = spawn('bash', ['-o', 'pipefail', '-c', script], { cwd: dir, env, timeout: 60_000 })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
      child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
      const status = await new Promise<number | null>((resolve) => { child.once('close', resolve) })
      return { status, stdout, stderr }
    }
  }
}

/** Runs one block and checks it against what the doc says around it. */
export async function check (t: Test, sh: Shell, block: Block, file: string): Promise<string> {
  const label = `${file}:${block.line}`
  const refusal = /^# (drawbridge: .*)$/m.exec(block.code)?.[1]
  const r = await sh.run(block.code)
  if (refusal !== undefined) {
    t.equal(r.status, 1, `${label}: refused as the doc says`)
    t.equal(r.stderr.trim(), refusal, `${label}: with the doc's message`)
  } else {
    t.equal(r.status, 0, `${label}: exits 0\n${r.stdout}${r.stderr}`)
  }
  // `curl ... -w '%{http_code}...' URL   # 302` → that status is printed.
  const codes = [...block.code.matchAll(/-w '%\{http_code\}[^\n]*?#\s*(\d{3})\b/g), ...block.code.matchAll(/-w '%\{http_code\}[^\n]*\n# (\d{3})\b/g)].map((m) => m[1])
  for (const code of codes) t.match(r.stdout, new RegExp(`${code ?? ''}(\\s|$)`), `${label}: prints ${code ?? ''}`)
  return r.stdout
}

export async function secretOf (gw: SpawnedGateway): Promise<string> {
  const res = await fetch(`http://${gw.admin}/v1/maintenance`, { headers: { authorization: `Bearer ${TOKEN}` } })
  return ((await res.json()) as { secret: string }).secret
}
