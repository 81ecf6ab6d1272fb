import { randomBytes } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ConfigError } from '../errors.js'
import { decodeAudit, decodeState } from './state-codec.js'
import type { AuditEntry, SharedState } from './types.js'

/** What the embedded store keeps on disk: the state and the recent audit log, one file. */
export interface StateFileContents {
  state: SharedState
  audit: AuditEntry[]
}

const FORMAT = 1

/**
 * A state file that exists but does not hold a state this version can read
 * (truncated, hand-edited, another format). Not a ConfigError: exiting would
 * make a supervisor restart the process into the same file forever, so the
 * store refuses to load or overwrite it and the gateway serves its fail policy
 * while /readyz says why.
 */
export class StateFileInvalid extends Error {
  constructor (readonly path: string, readonly problem: string) {
    super(`state file ${path} is corrupt: ${problem}; restore it from a backup or delete it to start from an empty state`)
    this.name = 'StateFileInvalid'
  }
}

/**
 * Reads the state file. Synchronous on purpose: it runs at start, before the
 * server listens, so an unreadable file or a missing directory becomes a
 * ConfigError (exit 2) at the same moment as every other bad setting; a
 * corrupt file throws StateFileInvalid. Null when the file does not exist yet.
 */
export function readStateFile (path: string): StateFileContents | null {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      checkDirectory(path)
      return null
    }
    throw new ConfigError('stateFile', `cannot read ${path} (${code ?? (err as Error).message})`)
  }
  try {
    const doc = JSON.parse(text) as unknown
    if (typeof doc !== 'object' || doc === null || (doc as { drawbridgeState?: unknown }).drawbridgeState !== FORMAT) {
      throw new Error(`not a drawbridge state file (format ${FORMAT} expected)`)
    }
    const { state, audit } = doc as { state?: unknown, audit?: unknown }
    return { state: decodeState(state), audit: decodeAudit(audit ?? []) }
  } catch (err) {
    throw new StateFileInvalid(path, (err as Error).message)
  }
}

function checkDirectory (path: string): void {
  const dir = dirname(path)
  let isDir = false
  try {
    isDir = statSync(dir).isDirectory()
  } catch {}
  if (!isDir) throw new ConfigError('stateFile', `directory ${dir} of ${path} does not exist`)
}

export function encodeStateFile (contents: StateFileContents): string {
  return JSON.stringify({ drawbridgeState: FORMAT, state: contents.state, audit: contents.audit }) + '\n'
}

/**
 * Replaces `path` so that a reader, or the file after a crash or power loss, is
 * either the old document or the new one, never a mix: write a temporary file
 * in the same directory (rename is atomic only within one file system), fsync
 * it, rename it over the target, then fsync the directory so the rename itself
 * is durable. Mode 0600: the file holds the signing key and bypass secret.
 */
export async function writeFileAtomic (path: string, data: string): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const file = await open(tmp, 'wx', 0o600)
  try {
    try {
      // open()'s mode is filtered by the umask; make sure it is exactly 0600.
      await file.chmod(0o600)
      await file.writeFile(data, 'utf8')
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
  try {
    const d = await open(dir, 'r')
    try { await d.sync() } finally { await d.close() }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}
