import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../errors.js'
import { parseDirectives, type Directives } from './directives.js'

export interface MigrationFile {
  /** File name without `.sql`: what the tracking table and flags' `requires` name. */
  name: string
  path: string
  sql: string
  checksum: string
  directives: Directives
}

/**
 * sha256 of the file with line endings normalised: a checkout that turns LF
 * into CRLF (git autocrlf) must not make every applied migration "drifted".
 */
export function checksumOf (sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n'), 'utf8').digest('hex')
}

/** `foo.sql` and `foo` name the same migration. */
export function migrationName (nameOrFile: string): string {
  return nameOrFile.endsWith('.sql') ? nameOrFile.slice(0, -4) : nameOrFile
}

/** Every `*.sql` file of the directory, in name order (plain code-point order, like `ls` in the C locale). */
export async function readMigrations (dir: string): Promise<MigrationFile[]> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new errors.DRAWBRIDGE_ERR_NOT_CONFIGURED(`migrationsDir (${dir} does not exist)`)
    throw err
  }
  const files = entries.filter((f) => f.endsWith('.sql')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return Promise.all(files.map(async (file) => {
    const path = join(dir, file)
    const sql = await readFile(path, 'utf8')
    return { name: migrationName(file), path, sql, checksum: checksumOf(sql), directives: parseDirectives(sql) }
  }))
}
