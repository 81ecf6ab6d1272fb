import t from 'tap'
import { buildTestAdmin } from './helpers.js'

const allowlist = (n: number, base = 0): string[] => Array.from({ length: n }, (_, i) => `10.${(base + i) >> 16}.${((base + i) >> 8) & 255}.${(base + i) & 255}/32`)

t.test('a flag over flagMaxBytes is 413 naming the budget; at the limit it is accepted', async (t) => {
  const { app } = await buildTestAdmin(t, ['--flag-max-bytes', '4096'])
  const over = await app.inject({ method: 'PUT', url: '/v1/flags/big', payload: { description: 'x'.repeat(3990) } })
  t.equal(over.statusCode, 413)
  t.match(over.json(), { code: 'DRAWBRIDGE_ERR_TOO_LARGE', message: /^flag big would be .* over the flagMaxBytes budget of 4\.0 KiB \(4096 bytes\); make it smaller or raise flagMaxBytes$/ })
  t.equal((await app.inject({ method: 'GET', url: '/v1/flags/big' })).statusCode, 404, 'nothing stored')

  // Find the largest description that fits, and check it is accepted.
  const probe = await app.inject({ method: 'PUT', url: '/v1/flags/big', payload: { description: '' } })
  const emptyBytes = Buffer.byteLength(JSON.stringify(probe.json()))
  const fits = await app.inject({ method: 'PUT', url: '/v1/flags/big', payload: { description: 'x'.repeat(4096 - emptyBytes) } })
  t.equal(fits.statusCode, 200, 'a flag filled up to flagMaxBytes is accepted')
  const rules = Array.from({ length: 40 }, (_, i) => ({ attribute: 'country', in: [`c${i}`.repeat(20)], enabled: true }))
  const patched = await app.inject({ method: 'PATCH', url: '/v1/flags/big', payload: { rules } })
  t.equal(patched.statusCode, 413, 'a PATCH that grows it past the budget is refused')
})

t.test('a maintenance change over stateMaxBytes is 413 naming the budget and changes nothing', async (t) => {
  const { app } = await buildTestAdmin(t, ['--state-max-bytes', '262144'])
  const ok = await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { allow: allowlist(5000) } })
  t.equal(ok.statusCode, 200)
  const over = await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { allowAdd: allowlist(20_000, 5000) } })
  t.equal(over.statusCode, 413)
  t.match(over.json(), { code: 'DRAWBRIDGE_ERR_TOO_LARGE', message: /^the state would be .* over the stateMaxBytes budget of 256\.0 KiB/ })
  const now = await app.inject({ method: 'GET', url: '/v1/maintenance' })
  t.equal(now.json().allow.length, 5000, 'the allowlist is as it was')
})

t.test('the audit log records what changed, not copies: a one-word change after a 100k allowlist adds well under a KiB', async (t) => {
  const { app, ctx } = await buildTestAdmin(t)
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { allow: allowlist(100_000) } })).statusCode, 200)
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { message: 'upgrading' } })).statusCode, 200)
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { allowAdd: ['192.0.2.1'], secret: true } })).statusCode, 200)
  const [edit, message, big] = await ctx.store.listAudit(3)
  const messageBytes = Buffer.byteLength(JSON.stringify(message))
  t.comment(`audit entry of the message change: ${messageBytes} bytes`)
  t.ok(messageBytes < 1024, 'the message change is a small entry')
  t.match(message, { before: { message: null }, after: { message: 'upgrading' } })
  t.notOk(Object.hasOwn(message?.after as object, 'allow'), 'unchanged fields are left out')
  t.match(big, { after: { allow: { summarised: true, entries: 100_000, addedCount: 100_000 } } })
  t.ok(Buffer.byteLength(JSON.stringify(big)) < 4096, 'the 100k allowlist itself is summarised')
  t.match(edit, { before: { allow: { summarised: true, entries: 100_000 } }, after: { allow: { summarised: true, entries: 100_001, added: ['192.0.2.1'], addedCount: 1, removedCount: 0 }, secret: '[redacted]' } })
})

t.test('the audit log keeps at most auditMaxEntries', async (t) => {
  const { app, ctx } = await buildTestAdmin(t, ['--audit-max-entries', '3'])
  for (const message of ['a', 'b', 'c', 'd', 'e']) await app.inject({ method: 'PATCH', url: '/v1/maintenance', payload: { message } })
  const entries = await ctx.store.listAudit(100)
  t.same(entries.map((e) => (e.after as { message: string }).message), ['e', 'd', 'c'])
})
