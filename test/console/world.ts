import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'
import { createDatabase, type TestDatabase } from '../migrations/helpers.js'
import { ADMIN, READ } from './browser.js'
import { ensureConsoleBuilt } from './helpers.js'

/** Migrations of a small shop: one safe, one that drops a column (a high finding). */
export const MIGRATIONS: Record<string, string> = {
  '001_orders.sql': 'CREATE TABLE orders (id bigserial PRIMARY KEY, total numeric NOT NULL, note text);\n',
  '002_orders_status.sql': '-- drawbridge:activates new-checkout\nALTER TABLE orders ADD COLUMN status text;\n',
  '003_drop_note.sql': 'ALTER TABLE orders DROP COLUMN note;\n'
}

async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

export interface World {
  gw: SpawnedGateway
  /** Admin `host:port`. */
  admin: string
  upstreams: { blue: string, green: string }
  db: TestDatabase | null
}

/**
 * What the console runs against in the tests (and in the screenshots): the
 * real binary with an admin and a read token, two real upstreams (blue,
 * green), and, when asked, a real PostgreSQL database with migrations.
 */
export async function startWorld (t: Test, options: { database?: boolean, downUpstream?: boolean } = {}): Promise<World> {
  await ensureConsoleBuilt()
  const ok = (body: string) => (_req: unknown, res: import('node:http').ServerResponse): void => { res.writeHead(200, { 'content-type': 'text/plain' }).end(body) }
  const [blue, green] = await Promise.all([startUpstream(t, ok('blue')), startUpstream(t, ok('green'))])
  // `red`: an upstream whose port nothing listens on, for a switch the health check refuses.
  const red = options.downUpstream === true ? `,red=http://127.0.0.1:${await closedPort()}` : ''
  const args = ['--upstreams', `blue=${blue.url},green=${green.url}${red}`, '--health-interval-ms', '500', '--admin-token', ADMIN, '--read-token', READ]
  let db: TestDatabase | null = null
  if (options.database === true) {
    db = await createDatabase(t, 'drawbridge_console_')
    const dir = await mkdtemp(join(tmpdir(), 'drawbridge-console-'))
    t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
    for (const [name, sql] of Object.entries(MIGRATIONS)) await writeFile(join(dir, name), sql)
    args.push('--database-url', db.url, '--migrations-dir', dir, '--backup-dir', join(dir, 'backups'))
  }
  const gw = await spawnGateway(t, args)
  return { gw, admin: gw.admin, upstreams: { blue: blue.url, green: green.url }, db }
}
