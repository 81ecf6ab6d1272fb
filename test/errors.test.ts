import { readFileSync } from 'node:fs'
import t from 'tap'
import { errors } from '../src/errors.js'

// The registry is the API clients' contract: key === code, and every code documented.
t.test('every error key is its code and is documented', async (t) => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8')
  for (const [key, ErrorClass] of Object.entries(errors)) {
    const err = new ErrorClass('x', 'y')
    t.equal(err.code, key, `${key} carries its own code`)
    t.ok(err.statusCode !== undefined && err.statusCode >= 400, `${key} has an HTTP status`)
    t.match(doc, new RegExp(`\\| \`${key}\` \\| ${err.statusCode} \\|`), `${key} is in docs/errors.md with status ${err.statusCode}`)
  }
  const documented = [...doc.matchAll(/\| `(DRAWBRIDGE_ERR_[A-Z_]+)` \|/g)].map((m) => m[1])
  for (const code of documented) t.ok(code !== undefined && code in errors, `${code} documented but not in the registry`)
})
