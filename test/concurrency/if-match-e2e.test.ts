import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'
import { appendBlindly, appendWithIfMatch, call, cidrs, TOKEN } from './helpers.js'

const CLIENTS = 25

async function twentyFiveWriters (t: Test, admins: string[]): Promise<void> {
  const wanted = cidrs(CLIENTS)
  const conflicts = await Promise.all(wanted.map(async (cidr, i) => await appendWithIfMatch(admins, i, cidr)))
  // Replicas agree within a second (the last write may have landed on the other one an instant ago).
  const deadline = Date.now() + 2000
  let final = await call(admins[0] as string, 'GET', '/v1/maintenance')
  while ((final.body.allow as string[]).length < wanted.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    final = await call(admins[0] as string, 'GET', '/v1/maintenance')
  }
  t.same([...(final.body.allow as string[])].sort(), [...wanted].sort(), 'every one of the 25 additions survived')
  t.comment(`412s met and retried: ${conflicts.reduce((a, b) => a + b, 0)}`)
}

t.test('embedded store: 25 clients GET, append and PATCH with If-Match; none is lost', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  await twentyFiveWriters(t, [gw.admin])
})

t.test('state file: the same, and the file holds every addition after a restart', async (t) => {
  const upstream = await startUpstream(t)
  const stateFile = join(mkdtempSync(join(tmpdir(), 'drawbridge-ifmatch-')), 'state.json')
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--state-file', stateFile])
  await twentyFiveWriters(t, [gw.admin])
  t.equal(await gw.stop(), 0)
  const again = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--state-file', stateFile])
  const after = await call(again.admin, 'GET', '/v1/maintenance')
  t.equal((after.body.allow as string[]).length, CLIENTS)
})

t.test('two replicas on one Redis: writers spread over both lose nothing', async (t) => {
  const upstream = await startUpstream(t)
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-ifmatch-redis-'))
  const config = join(dir, 'drawbridge.json')
  writeFileSync(config, JSON.stringify({ redis: { keyPrefix: `test:ifmatch:${process.pid}:${Date.now()}:` } }))
  const args = ['--config', config, '--upstream', upstream.url, '--admin-token', TOKEN, '--redis-url', 'redis://127.0.0.1:6379']
  const a = await spawnGateway(t, args)
  const b = await spawnGateway(t, args)
  await twentyFiveWriters(t, [a.admin, b.admin])
})

t.test('without If-Match the old behaviour still works: every PATCH is a 200 (and the last writer wins)', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  const statuses = await Promise.all(cidrs(CLIENTS).map(async (cidr) => await appendBlindly(gw.admin, cidr)))
  t.same(new Set(statuses), new Set([200]))
  const final = await call(gw.admin, 'GET', '/v1/maintenance')
  const kept = (final.body.allow as string[]).length
  t.ok(kept >= 1 && kept <= CLIENTS)
  t.comment(`blind read-modify-write kept ${kept} of ${CLIENTS} additions`)
})

t.test('allowAdd: 25 concurrent clients without If-Match, every addition survives', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  const wanted = cidrs(CLIENTS, '172')
  const statuses = await Promise.all(wanted.map(async (cidr) => (await call(gw.admin, 'PATCH', '/v1/maintenance', { allowAdd: [cidr] })).status))
  t.same(new Set(statuses), new Set([200]))
  const final = await call(gw.admin, 'GET', '/v1/maintenance')
  t.same([...(final.body.allow as string[])].sort(), [...wanted].sort())
})

t.test('a flag: 25 clients GET, append to a rule and PATCH with If-Match; every value survives', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  const url = '/v1/flags/beta'
  t.equal((await call(gw.admin, 'PUT', url, { enabled: true, rules: [{ attribute: 'plan', in: ['seed'], enabled: true }] })).status, 201)
  const wanted = Array.from({ length: CLIENTS }, (_, i) => `plan-${i}`)
  await Promise.all(wanted.map(async (value) => {
    for (;;) {
      const read = await call(gw.admin, 'GET', url)
      const rules = read.body.rules as Array<{ attribute: string, in: string[], enabled: boolean }>
      const first = rules[0] as { attribute: string, in: string[], enabled: boolean }
      const write = await call(gw.admin, 'PATCH', url, { rules: [{ ...first, in: [...first.in, value] }] }, { 'if-match': read.etag as string })
      if (write.status === 200) return
      if (write.status !== 412) throw new Error(`PATCH answered ${write.status}`)
    }
  }))
  const final = await call(gw.admin, 'GET', url)
  t.same([...(final.body.rules as Array<{ in: string[] }>)[0]?.in ?? []].sort(), ['seed', ...wanted].sort())
})
