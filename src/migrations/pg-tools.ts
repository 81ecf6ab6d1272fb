import { spawn, type ChildProcess } from 'node:child_process'

/** Lines of a failing tool's stderr quoted in its error: the reason is at the end. */
const STDERR_TAIL_LINES = 3
/** Chunks of stderr kept per tool: a chatty tool must not fill memory. */
const STDERR_MAX_CHUNKS = 64

/**
 * A PostgreSQL URL for a client tool's command line, without its password,
 * and the environment that carries the password instead (PGPASSWORD): on the
 * command line any local user could read it in the process list.
 */
export function connectionArgs (databaseUrl: string): { url: string, env: NodeJS.ProcessEnv } {
  const url = new URL(databaseUrl)
  const env: NodeJS.ProcessEnv = { ...process.env }
  if (url.password !== '') {
    env.PGPASSWORD = decodeURIComponent(url.password)
    url.password = ''
  }
  return { url: url.toString(), env }
}

export interface ToolRun {
  child: ChildProcess
  /** Resolves when the tool exited 0; rejects with a readable reason otherwise. */
  done: Promise<void>
}

/**
 * Runs pg_dump / pg_restore / psql. The error names the tool, its exit code
 * and the last lines of its stderr; a missing binary says which package to
 * install. `stdin`/`stdout` 'pipe' let two tools be chained.
 */
export function runTool (command: string, args: string[], env: NodeJS.ProcessEnv, stdio: { stdin: 'ignore' | 'pipe', stdout: 'ignore' | 'pipe' }, signal?: AbortSignal): ToolRun {
  // With a signal, aborting kills the tool (SIGTERM): a rehearsal stopped at shutdown must not leave a restore running.
  const child = spawn(command, args, { env, stdio: [stdio.stdin, stdio.stdout, 'pipe'], ...(signal === undefined ? {} : { signal }) })
  const stderr: Buffer[] = []
  child.stderr?.on('data', (chunk: Buffer) => { if (stderr.length < STDERR_MAX_CHUNKS) stderr.push(chunk) })
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') { reject(new Error(`${command} was stopped (shutting down)`)); return }
      reject(new Error(err.code === 'ENOENT' ? `${command} not found: install the PostgreSQL client tools (same major version as the server or newer)` : `${command}: ${err.message}`))
    })
    child.on('close', (code, signal) => {
      if (code === 0) { resolve(); return }
      const reason = Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-STDERR_TAIL_LINES).join(' ')
      reject(new Error(`${command} ${signal !== null ? `was stopped by ${signal}` : `exited with code ${String(code)}`}${reason === '' ? '' : `: ${reason}`}`))
    })
  })
  return { child, done }
}
