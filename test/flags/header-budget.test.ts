import t from 'tap'
import { request } from 'undici'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

/*
 * 126 enabled flags with 128-character keys made X-Drawbridge-Flags about
 * 16 KB, over Node's header limit: the upstream refused every proxied
 * request (502). The header is now bounded by flagsHeaderMaxBytes.
 */

const TOKEN = 'header-budget-admin-token-0123'

t.test('X-Drawbridge-Flags stays within flagsHeaderMaxBytes: whole entries, in key order, the tail left out', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  const keys = Array.from({ length: 126 }, (_, i) => `f${String(i).padStart(3, '0')}-`.padEnd(128, 'x'))
  for (const key of keys) {
    const res = await request(`http://${gw.admin}/v1/flags/${key}`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ enabled: true }) })
    await res.body.text()
    if (res.statusCode !== 201) t.fail(`PUT ${key}: ${res.statusCode}`)
  }
  // State reaches the gateway asynchronously (same process, next tick at most); poll for it.
  let header = ''
  for (let i = 0; i < 50 && header === ''; i++) {
    const res = await request(`http://${gw.gateway}/x`, { reset: true })
    t.equal(res.statusCode, 200, 'proxied, not 502')
    header = (await res.body.json() as { headers: Record<string, string | undefined> }).headers['x-drawbridge-flags'] ?? ''
    if (header === '') await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(header.length <= 4096 && header.length > 4096 - 129, `within the default 4096 bytes (${header.length})`)
  const listed = header.split(',')
  t.same(listed, keys.slice(0, listed.length), 'a prefix of the enabled flags in key order, whole keys only')
  t.equal(listed.length, 31, '31 keys of 128 bytes and their commas fit in 4096')
  const explained = await request(`http://${gw.admin}/v1/explain`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ method: 'GET', path: '/x', ip: '203.0.113.9' }) })
  t.equal((await explained.body.json() as { flags: { header: string } }).flags.header, header, 'explain shows the header as the upstream gets it, budget applied')
  t.match(gw.logs(), /exceed flagsHeaderMaxBytes/, 'the operator is told once')
  t.equal(gw.logs().split('exceed flagsHeaderMaxBytes').length - 1, 1, 'once per flags change, not per request')
})
