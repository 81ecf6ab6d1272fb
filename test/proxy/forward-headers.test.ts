import t from 'tap'
import { forwardHeaders, type ForwardContext } from '../../src/proxy/headers.js'

const ctx: ForwardContext = { peer: '203.0.113.9', trustedPeer: false, encrypted: false, flags: 'on-flag', upgrade: false }

function names (out: string[]): string[] {
  return out.filter((_, i) => i % 2 === 0)
}

t.test('drawbridge headers are dropped in every spelling, and underscore spellings of the ones it sets', async (t) => {
  const out = forwardHeaders([
    'X_Drawbridge_Flags', 'forged', 'x-drawbridge_bypass', 'secret', 'X-DRAWBRIDGE-FLAGS', 'forged', 'X-Drawbridge-Other', '1',
    'X_Forwarded_For', '10.0.0.1', 'x_forwarded_proto', 'https', 'X_Forwarded_Host', 'evil', 'Content_Length', '5', 'Transfer_Encoding', 'chunked',
    'X_Custom_Header', 'kept', 'Accept', '*/*'
  ], ctx, 'up:80')
  t.same(names(out), ['X_Custom_Header', 'Accept', 'x-forwarded-for', 'x-forwarded-proto', 'x-drawbridge-flags'])
  t.equal(out[out.indexOf('x-drawbridge-flags') + 1], 'on-flag', 'only the flags drawbridge resolved')
  t.equal(out[out.indexOf('x-forwarded-for') + 1], '203.0.113.9')
})

t.test('the bypass cookie is removed from the Cookie header', async (t) => {
  const out = forwardHeaders(['Cookie', 'a=1; drawbridge_bypass=v1.x.y; b=2', 'cookie', 'drawbridge_bypass=z'], ctx, 'up:80')
  t.same(out.slice(0, 2), ['Cookie', 'a=1; b=2'])
  t.notOk(names(out).includes('cookie'), 'a header holding only the bypass cookie is dropped')
})
