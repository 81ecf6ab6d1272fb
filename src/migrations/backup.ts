import { spawn } from 'node:child_process'
import { mkdir, rm, stat } from 'node:fs/promises'
import { join, resolve as resolvePath } from 'node:path'

export interface BackupResult {
  file: string
  sizeBytes: number
}

/**
 * The password goes to pg_dump through PGPASSWORD, never on its command line,
 * where any local user could read it in the process list.
 */
function connectionArgs (databaseUrl: string): { url: string, env: NodeJS.ProcessEnv } {
  const url = new URL(databaseUrl)
  const env: NodeJS.ProcessEnv = { ...process.env }
  if (url.password !== '') {
    env.PGPASSWORD = decodeURIComponent(url.password)
    url.password = ''
  }
  return { url: url.toString(), env }
}

/**
 * `pg_dump -Fc` of the application database into `dir` (created if missing).
 * Rejects with a readable reason when pg_dump is missing or fails, and removes
 * a partial file: a run must never start on the strength of a broken backup.
 */
export async function takeBackup (databaseUrl: string, dir: string, runId: string, pgDump = 'pg_dump'): Promise<BackupResult> {
  const target = resolvePath(dir)
  await mkdir(target, { recursive: true })
  const dbName = decodeURIComponent(new URL(databaseUrl).pathname.slice(1)) || 'postgres'
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')
  const file = join(target, `${dbName.replace(/[^A-Za-z0-9_.-]/g, '_')}-${stamp}-${runId.slice(0, 8)}.dump`)
  const { url, env } = connectionArgs(databaseUrl)
  const stderr: Buffer[] = []
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(pgDump, ['--format=custom', '--no-password', `--file=${file}`, `--dbname=${url}`], { env, stdio: ['ignore', 'ignore', 'pipe'] })
    child.stderr.on('data', (chunk: Buffer) => { if (stderr.length < 64) stderr.push(chunk) })
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(err.code === 'ENOENT' ? `${pgDump} not found: install the PostgreSQL client tools (same major version as the server or newer)` : `${pgDump}: ${err.message}`))
    })
    child.on('close', resolve)
  }).catch(async (err: unknown) => {
    await rm(file, { force: true })
    throw err
  })
  if (code !== 0) {
    await rm(file, { force: true })
    const reason = Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-3).join(' ')
    throw new Error(`${pgDump} exited with code ${String(code)}${reason === '' ? '' : `: ${reason}`}`)
  }
  const { size } = await stat(file)
  return { file, sizeBytes: size }
}
