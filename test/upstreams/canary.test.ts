import t from 'tap'
import { Client, Pool } from 'undici'
import { normalizedValue } from '../../src/flags/murmur3.js'
import { gatewayFor, hit, namedUpstream, route } from './helpers.js'

/**
 * CONTRACT section 6: a canary sends `percentage` % of identities to its
 * upstream, always the same ones: murmur3_x86_32("canary:<upstream>:<key>",
 * seed 0) % 100 + 1 <= percentage; the key is the flags identity when
 * configured, else the client address.
 */

const IDENTITIES = 10_000
const onCanary = (upstream: string, key: string, percentage: number): boolean => normalizedValue(key, `canary:${upstream}`) <= percentage

/** Sends one request per identity (x-user-id), 64 at a time on keep-alive connections; identity → x-upstream. */
async function sides (pool: Pool, ids: string[], extraHeaders: Record<string, string> = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] as string
      const res = await pool.request({ path: `/c?u=${encodeURIComponent(id)}`, method: 'GET', headers: { 'x-user-id': id, ...extraHeaders } })
      await res.body.text()
      const side = res.headers['x-upstream']
      out.set(id, res.statusCode === 200 && typeof side === 'string' ? side : `status ${res.statusCode}`)
    }
  }
  await Promise.all(Array.from({ length: 64 }, worker))
  return out
}

t.test('a 20% canary over 10,000 identities: the predicted identities, always the same side', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await gatewayFor(t, [blue, green], { args: ['--flags-identity', 'header:x-user-id'] })
  const pool = new Pool(`http://${gw.gateway}`, { connections: 64, headersTimeout: 5000, bodyTimeout: 5000 })
  t.teardown(async () => { await pool.destroy().catch(() => {}) })

  const routing = await route(gw, { canary: { upstream: 'green', percentage: 20 } })
  t.same(routing.canary, { upstream: 'green', percentage: 20 }, 'PATCH answers the canary')
  t.equal(routing.active, 'blue')

  const ids = Array.from({ length: IDENTITIES }, (_, i) => `user-${i}`)
  const firstPass = await sides(pool, ids)
  const counts: Record<string, number> = {}
  for (const side of firstPass.values()) counts[side] = (counts[side] ?? 0) + 1
  const share = (counts.green ?? 0) / IDENTITIES
  t.same(Object.keys(counts).sort(), ['blue', 'green'], `only blue and green answered: ${JSON.stringify(counts)}`)
  t.ok(Math.abs(share - 0.20) <= 0.015, `canary share ${(share * 100).toFixed(2)}% of ${IDENTITIES} identities (20% ± 1.5%)`)

  const mispredicted = ids.filter((id) => (firstPass.get(id) === 'green') !== onCanary('green', id, 20))
  const predicted = ids.filter((id) => onCanary('green', id, 20)).length
  t.equal(mispredicted.length, 0, `identities on the canary are exactly the ${predicted} the hash predicts; mispredicted ${mispredicted.length}, e.g. ${JSON.stringify(mispredicted.slice(0, 5).map((id) => [id, firstPass.get(id), normalizedValue(id, 'canary:green')]))}`)

  // Every fifth identity comes back: the same side again.
  const again = ids.filter((_, i) => i % 5 === 0)
  const secondPass = await sides(pool, again)
  const moved = again.filter((id) => secondPass.get(id) !== firstPass.get(id))
  t.equal(moved.length, 0, `each identity stays on its side when it comes back (${moved.length} of ${again.length} moved)`)

  // Raising the percentage only adds identities; every identity still follows the hash.
  const sample = ids.slice(0, 1000)
  await route(gw, { canary: { upstream: 'green', percentage: 30 } })
  const at30 = await sides(pool, sample)
  const lost = sample.filter((id) => firstPass.get(id) === 'green' && at30.get(id) !== 'green')
  t.equal(lost.length, 0, 'raising 20% → 30% keeps every identity that was on the canary')
  t.equal(sample.filter((id) => (at30.get(id) === 'green') !== onCanary('green', id, 30)).length, 0, 'at 30% the predicted identities')

  await route(gw, { canary: { upstream: 'green', percentage: 100 } })
  const all = await sides(pool, sample.slice(0, 200))
  t.same(new Set(all.values()), new Set(['green']), '100% sends everyone to the canary')
  await route(gw, { canary: null })
  const none = await sides(pool, sample.slice(0, 200))
  t.same(new Set(none.values()), new Set(['blue']), 'canary null: everyone on the active upstream')
})

t.test('the canary follows the active side: a canary toward blue while green is active', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await gatewayFor(t, [blue, green], { args: ['--flags-identity', 'header:x-user-id'] })
  const pool = new Pool(`http://${gw.gateway}`, { connections: 64, headersTimeout: 5000, bodyTimeout: 5000 })
  t.teardown(async () => { await pool.destroy().catch(() => {}) })
  await route(gw, { active: 'green', canary: { upstream: 'blue', percentage: 10 } })
  const ids = Array.from({ length: 1000 }, (_, i) => `acct-${i}`)
  const seen = await sides(pool, ids)
  t.equal(ids.filter((id) => (seen.get(id) === 'blue') !== onCanary('blue', id, 10)).length, 0, 'the hash over canary:blue:<key> picks the identities on blue')
  const noIdentity = await hit(gw, '/anonymous')
  t.equal(noIdentity.status, 200, 'a request without the identity header is proxied')
  t.ok(noIdentity.upstream === 'blue' || noIdentity.upstream === 'green', `and lands on one side (${String(noIdentity.upstream)})`)
})

t.test('without a flags identity the key is the client address', { timeout: 20_000 }, async (t) => {
  const blue = await namedUpstream(t, 'blue')
  const green = await namedUpstream(t, 'green')
  const gw = await gatewayFor(t, [blue, green])
  await route(gw, { canary: { upstream: 'green', percentage: 50 } })

  // One client: every request on one side, whatever x-user-id or X-Forwarded-For it sends (no trusted proxies).
  const pool = new Pool(`http://${gw.gateway}`, { connections: 16, headersTimeout: 5000, bodyTimeout: 5000 })
  t.teardown(async () => { await pool.destroy().catch(() => {}) })
  const ids = Array.from({ length: 300 }, (_, i) => `user-${i}`)
  const one = await sides(pool, ids)
  const oneSide = new Set(one.values())
  t.equal(oneSide.size, 1, `one client address → one side for 300 different x-user-id values (${JSON.stringify([...oneSide])})`)
  const expected = onCanary('green', '127.0.0.1', 50) ? 'green' : 'blue'
  t.same([...oneSide], [expected], `the side the hash predicts for 127.0.0.1 (bucket ${normalizedValue('127.0.0.1', 'canary:green')})`)
  const spoofed = await sides(pool, ids.slice(0, 100), { 'x-forwarded-for': '203.0.113.7' })
  t.same([...new Set(spoofed.values())], [expected], 'an untrusted X-Forwarded-For does not change the key')

  // Several client addresses (127.0.0.2 … 127.0.0.41 as source): each on the side the hash predicts.
  const wrong: string[] = []
  const bySide: Record<string, number> = {}
  for (let i = 2; i <= 41; i++) {
    const address = `127.0.0.${i}`
    const client = new Client(`http://${gw.gateway}`, { localAddress: address, headersTimeout: 5000, bodyTimeout: 5000 })
    try {
      const res = await client.request({ path: '/from', method: 'GET' })
      await res.body.text()
      const side = res.headers['x-upstream']
      bySide[String(side)] = (bySide[String(side)] ?? 0) + 1
      if (side !== (onCanary('green', address, 50) ? 'green' : 'blue')) wrong.push(`${address}→${String(side)}`)
    } finally {
      await client.close()
    }
  }
  t.equal(wrong.length, 0, `40 client addresses each on the predicted side ${JSON.stringify(bySide)}; wrong: ${wrong.join(', ')}`)
  t.ok((bySide.blue ?? 0) > 0 && (bySide.green ?? 0) > 0, 'both sides used across addresses')
})
