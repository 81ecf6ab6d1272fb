import { lstat, mkdir, rm, stat } from 'node:fs/promises'
import { basename, dirname, isAbsolute, join, resolve as resolvePath } from 'node:path'
import { errors } from '../errors.js'
import { connectionArgs, runTool } from './pg-tools.js'

export interface BackupResult {
  file: string
  sizeBytes: number
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
  try {
    await runTool(pgDump, ['--format=custom', '--no-password', `--file=${file}`, `--dbname=${url}`], env, { stdin: 'ignore', stdout: 'ignore' }).done
  } catch (err) {
    await rm(file, { force: true })
    throw err
  }
  const { size } = await stat(file)
  return { file, sizeBytes: size }
}

/** A backup's file name: what takeBackup writes, no directory part, no leading dot (so never `..`). */
const BACKUP_FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/

/**
 * The path of a backup named by an API client: a file name in `dir` (or the
 * full path `migrate status` shows, when it is in `dir`). Anything else is
 * refused before the file system is touched: no other directory, no `..`, no
 * symlink out of it. 400 for a bad name, 404 when there is no such file.
 */
export async function resolveBackupFile (dir: string, given: string): Promise<string> {
  const root = resolvePath(dir)
  const name = isAbsolute(given) && dirname(given) === root ? basename(given) : given
  if (!BACKUP_FILE_NAME.test(name)) {
    throw new errors.DRAWBRIDGE_ERR_INVALID(`backup: "${given.slice(0, 200)}" is not the name of a file in the backup directory (letters, digits, _ . - only; no directories)`)
  }
  const path = join(root, name)
  let info
  try {
    info = await lstat(path)
  } catch {
    throw new errors.DRAWBRIDGE_ERR_NOT_FOUND(`No backup ${name} in ${root}`)
  }
  if (!info.isFile()) throw new errors.DRAWBRIDGE_ERR_INVALID(`backup: ${name} is not a regular file (symlinks and directories are refused)`)
  return path
}
