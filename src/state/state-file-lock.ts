import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import { ConfigError } from '../errors.js'
import { checkDirectory } from './state-file.js'

/**
 * A state file belongs to one process: two embedded stores on one file would
 * each hold their own copy in memory and overwrite each other's writes. The
 * owner is recorded in `<file>.lock`, created with O_EXCL (atomic on local
 * file systems), holding its pid and host. A lock whose pid is dead on this
 * host is stale (the owner was killed) and taken over; a lock from another
 * host cannot be checked, so it is never taken over automatically.
 */

export interface LockOwner {
  pid: number
  host: string
  startedAt: string
}

export interface StateFileLock {
  readonly path: string
  /** Removes the lock file if it is still ours. Idempotent. */
  release (): void
}

function readOwner (path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>
    if (typeof owner.pid !== 'number' || typeof owner.host !== 'string') return null
    return { pid: owner.pid, host: owner.host, startedAt: typeof owner.startedAt === 'string' ? owner.startedAt : 'unknown' }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err
    return null
  }
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function tryCreate (path: string, owner: LockOwner): boolean {
  let fd: number
  try {
    fd = openSync(path, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
  try {
    writeSync(fd, JSON.stringify(owner) + '\n')
  } finally {
    closeSync(fd)
  }
  return true
}

/** Takes the lock of `stateFile`, or throws ConfigError (exit 2) naming the process that holds it. */
export function acquireStateFileLock (stateFile: string, logger: Logger): StateFileLock {
  checkDirectory(stateFile)
  const path = `${stateFile}.lock`
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }
  for (let attempt = 0; ; attempt++) {
    let created: boolean
    try {
      created = tryCreate(path, me)
    } catch (err) {
      throw new ConfigError('stateFile', `cannot create the lock file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
    if (created) break
    let owner: LockOwner | null
    try {
      owner = readOwner(path)
    } catch {
      continue // released between our open and our read: try again
    }
    const stale = owner === null || (owner.host === me.host && owner.pid !== process.pid && !alive(owner.pid))
    if (!stale || attempt >= 3) {
      const who = owner === null ? 'another process' : `pid ${owner.pid} on host ${owner.host} (since ${owner.startedAt})`
      throw new ConfigError('stateFile', `${stateFile} is in use by ${who}: only one process may own a state file (lock ${path}); stop it, use the Redis store for several processes, or delete the lock file if that process is gone`)
    }
    logger.warn({ lock: path, owner }, 'taking over a stale state file lock (its process is gone)')
    rmSync(path, { force: true })
  }

  let released = false
  const release = (): void => {
    if (released) return
    released = true
    process.off('exit', release)
    try {
      const owner = readOwner(path)
      if (owner?.pid === me.pid && owner.host === me.host) rmSync(path, { force: true })
    } catch {}
  }
  // A process.exit() without close() (a fatal error) must not leave the lock behind.
  process.on('exit', release)
  return { path, release }
}
