import pg from 'pg'
import type { Test } from 'tap'
import { analyzeMigration, type Finding } from '../../src/migrations/analyzer.js'
import { parseDirectives } from '../../src/migrations/directives.js'

/** Analyzes SQL as one migration file, its directives read from its header. */
export async function analyze (sql: string, name = 'm'): Promise<Finding[]> {
  return await analyzeMigration({ name, sql, directives: parseDirectives(sql) })
}

/** Connected clients to a test database, closed at teardown. */
export async function clients (t: Test, url: string, count: number): Promise<pg.Client[]> {
  const out = Array.from({ length: count }, () => new pg.Client({ connectionString: url }))
  await Promise.all(out.map(async (c) => { await c.connect() }))
  t.teardown(async () => { await Promise.all(out.map(async (c) => { await c.end() })) })
  return out
}

/** How PostgreSQL takes a case: in a transaction rolled back afterwards, outside one, refused in one, or not run. */
export type Exec = 'tx' | 'no-tx' | 'fails-in-tx' | 'skip'

/** Runs a case's SQL the way it says, so every case is a statement PostgreSQL accepts (or refuses, when it should). */
export async function execCase (t: Test, client: pg.Client, sql: string, exec: Exec = 'tx'): Promise<void> {
  if (exec === 'skip') return
  if (exec === 'no-tx') {
    await client.query(sql)
    return
  }
  await client.query('BEGIN')
  try {
    if (exec === 'fails-in-tx') await t.rejects(client.query(sql), /cannot run inside a transaction block/, 'PostgreSQL refuses it too')
    else await client.query(sql)
  } finally {
    await client.query('ROLLBACK')
  }
}
