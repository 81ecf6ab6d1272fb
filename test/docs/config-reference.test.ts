import { readFileSync } from 'node:fs'
import t from 'tap'
import { SETTINGS } from '../../src/config/settings.js'
import { CONFIG_DOC, renderConfigDocs } from '../../scripts/gen-config-docs.js'

t.test('docs/configuration.md is what the schema generates (run `npm run docs:config`)', async (t) => {
  t.equal(readFileSync(CONFIG_DOC, 'utf8'), renderConfigDocs())
})

t.test('every setting is documented with its flag and env name', async (t) => {
  const doc = renderConfigDocs()
  for (const s of SETTINGS) {
    t.match(doc, `| \`${s.key}\` |`, s.key)
    if (s.kind !== 'file-only') {
      t.match(doc, `\`${s.flag}\``, s.flag)
      t.match(doc, `\`${s.env}\``, s.env)
    }
  }
})
