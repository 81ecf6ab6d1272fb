import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/** docs/migration-analyzer.md lists every rule the analyzer can report, and no other. */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

t.test('the rules table matches the code', async (t) => {
  const dir = join(ROOT, 'src', 'migrations')
  const code = readdirSync(dir).filter((f) => f.startsWith('analyzer') && f.endsWith('.ts')).map((f) => readFileSync(join(dir, f), 'utf8')).join('\n')
  const inCode = new Set<string>()
  for (const line of code.matchAll(/rule: ([^\n]+)/g)) for (const name of (line[1] as string).matchAll(/'([a-z]+(?:-[a-z]+)+)'/g)) inCode.add(name[1] as string)
  const doc = readFileSync(join(ROOT, 'docs', 'migration-analyzer.md'), 'utf8')
  const table = doc.slice(doc.indexOf('## Rules'))
  const inDoc = new Set<string>()
  for (const row of table.split('\n').filter((l) => l.startsWith('| `'))) {
    for (const name of (row.split('|')[1] as string).matchAll(/`([a-z-]+)`/g)) inDoc.add(name[1] as string)
  }
  t.ok(inCode.size >= 40, `${inCode.size} rules in the code`)
  t.same([...inCode].filter((r) => !inDoc.has(r)).sort(), [], 'every rule is documented')
  t.same([...inDoc].filter((r) => !inCode.has(r)).sort(), [], 'every documented rule exists')
})
