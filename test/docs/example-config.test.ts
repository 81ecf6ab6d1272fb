import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { loadConfig } from '../../src/config/load.js'
import { ConfigSchema } from '../../src/config/schema.js'

// config/drawbridge.example.yaml ships in the image and is what operators copy:
// it must load through the real loader, and mention every setting there is.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const EXAMPLE = join(ROOT, 'config', 'drawbridge.example.yaml')

t.test('the example config loads and validates against the schema', async (t) => {
  const config = loadConfig(['--config', EXAMPLE], {})
  t.equal(config.upstream, 'http://127.0.0.1:3000')
  t.equal(config.tokens.length, 2)
  t.equal(config.webhooks.length, 2)
  t.same(config.webhooks[1]?.events, ['*'])
  t.same(config.trustedProxies, ['10.0.0.0/8'])
})

t.test('the example mentions every top-level setting', async (t) => {
  const text = readFileSync(EXAMPLE, 'utf8')
  for (const key of Object.keys(ConfigSchema.properties)) {
    t.match(text, new RegExp(`^(# )?${key}:`, 'm'), `${key} appears (set or commented)`)
  }
})
