import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import type { Test } from 'tap'

/**
 * PostgreSQL for tests: a database of its own per test file on the shared
 * server, or a private server in a temp dir that a test may stop and start.
 */

export const SERVER_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export function urlFor (database: string, server = SERVER_URL): string {
  const url = new URL(server)
  url.pathname = `/${database}`
  return url.toString()
}

export interface TestDatabase {
  name: string
  url: string
  /** A pool on the test database, for the test's own checks. */
  query: <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>
}

/** Creates an empty database, dropped at teardown. */
export async function createDatabase (t: Test, prefix = 'drawbridge_test_', server = SERVER_URL): Promise<TestDatabase> {
  const name = `${prefix}${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: server })
  await admin.connect()
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  const url = urlFor(name, server)
  const pool = new pg.Pool({ connectionString: url, max: 3 })
  pool.on('error', () => {})
  t.teardown(async () => {
    await pool.end().catch(() => {})
    const c = new pg.Client({ connectionString: server })
    await c.connect()
    // FORCE: a test that failed half-way may still hold connections.
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await c.end()
  })
  return { name, url, query: async (sql, params) => (await pool.query(sql, params)).rows }
}

const run = promisify(execFile)

/** The newest installed server binaries (Debian's layout), or PG_BIN. */
function binDir (): string {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  if (versions[0] === undefined) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (set PG_BIN)')
  return join(root, versions[0], 'bin')
}

export interface PrivatePostgres {
  port: number
  /** postgres:// URL of the `postgres` database of this server. */
  url: string
  /** pg_ctl start (waits until it accepts connections). */
  start: () => Promise<void>
  /** pg_ctl stop -m fast: connections are closed, the server is gone until start(). */
  stop: () => Promise<void>
}

/**
 * A PostgreSQL server of the test's own, in a temp dir, on `port` (trust
 * auth, no fsync). initdb refuses to run as root: as root, the server runs as
 * the `postgres` user in a directory it owns. Stopped and removed at teardown.
 */
export async function startPrivatePostgres (t: Test, port: number): Promise<PrivatePostgres> {
  const bin = binDir()
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-pg-'))
  const asRoot = process.getuid?.() === 0
  const exec = async (tool: string, args: string[]): Promise<void> => {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args]
    await run(cmd, argv, { timeout: 60_000 })
  }
  if (asRoot) {
    const { uid, gid } = await userIds('postgres')
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  await exec('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'])
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`
  let running = false
  const server: PrivatePostgres = {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: async () => {
      await exec('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start'])
      running = true
    },
    stop: async () => {
      running = false
      await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop'])
    }
  }
  t.teardown(async () => {
    if (running) await server.stop().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })
  await server.start()
  return server
}

async function userIds (user: string): Promise<{ uid: number, gid: number }> {
  const [{ stdout: uid }, { stdout: gid }] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])])
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) }
}
