import t from 'tap'
import { parseArgs } from '../../src/cli/args.js'
import { buildPatch, parseWhen } from '../../src/cli/maintenance.js'
import { UsageError } from '../../src/cli/output.js'

// The CLI refuses what the API would refuse, as a usage error (exit 2) before any request.
const SPEC = { 'ends-at': 'string', 'starts-at': 'string', redirect: 'string', except: 'list', paths: 'list' } as const

function patchFrom (args: string[]): Record<string, unknown> {
  return buildPatch(parseArgs(args, SPEC), true)
}

t.test('dates: real calendar dates only, and no date past what a Date holds', async (t) => {
  t.throws(() => parseWhen('2026-02-30T00:00:00Z', 'ends-at'), UsageError)
  t.throws(() => parseWhen('2026-02-30T00:00:00Z', 'ends-at'), /--ends-at: "2026-02-30T00:00:00Z" is not a real date-time/)
  t.throws(() => parseWhen('+99999999999d', 'ends-at'), /further away than a date can be/)
  t.equal(parseWhen('+010000-01-01T00:00:00.000Z', 'ends-at'), '+010000-01-01T00:00:00.000Z', 'the extended years the API writes are read back')
  t.equal(parseWhen('2028-02-29T00:00:00Z', 'ends-at'), '2028-02-29T00:00:00Z')
})

t.test('redirect and paths are checked like the API checks them', async (t) => {
  t.throws(() => patchFrom(['--redirect', '/x\r\nSet-Cookie: a=1']), /--redirect must be visible ASCII/)
  t.throws(() => patchFrom(['--redirect', '/\\evil.test']), /--redirect must not contain a backslash/)
  t.throws(() => patchFrom(['--except', '/health\u0000']), /--except: .* contains control characters/)
  t.throws(() => patchFrom(['--paths', '/v2\u0001x']), /--paths: .* contains control characters/)
  t.match(patchFrom(['--redirect', 'https://status.example.com/', '--except', '/healthz']), { redirect: 'https://status.example.com/', exceptPaths: ['/healthz'] })
  t.match(patchFrom(['--redirect', '']), { redirect: null })
})

t.test('an --ends-at in the past is a usage error, not a window that is already over', async (t) => {
  t.throws(() => patchFrom(['--ends-at', '2020-01-01T00:00:00Z']), /--ends-at: 2020-01-01T00:00:00Z is in the past/)
  t.match(patchFrom(['--ends-at', '+1h']), { endsAt: /Z$/ })
  t.match(patchFrom(['--starts-at', '2020-01-01T00:00:00Z']), { startsAt: '2020-01-01T00:00:00Z' }, 'a start in the past means now')
})
