import t from 'tap'
import { CidrSet } from '../../src/net/cidr-set.js'
import { createClientAddress } from '../../src/proxy/client-address.js'
import { startUpstream } from '../helpers/upstream.js'
import { fetchText, startGateway } from './helpers.js'

t.test('resolve: peer unless a trusted proxy, then right-most untrusted XFF entry', async (t) => {
  const none = createClientAddress(CidrSet.EMPTY)
  t.equal(none.resolve('203.0.113.7', '10.0.0.1'), '203.0.113.7', 'no trusted proxies: XFF ignored')
  t.equal(none.resolve('::ffff:203.0.113.7', undefined), '203.0.113.7', 'IPv4-mapped peer unmapped')

  const c = createClientAddress(CidrSet.compile(['10.0.0.0/8', '2001:db8::/32']))
  t.equal(c.resolve('198.51.100.2', '10.9.9.9'), '198.51.100.2', 'untrusted peer: its XFF is ignored')
  t.equal(c.resolve('10.0.0.1', undefined), '10.0.0.1', 'trusted peer, no XFF')
  t.equal(c.resolve('10.0.0.1', '203.0.113.9'), '203.0.113.9')
  t.equal(c.resolve('::ffff:10.0.0.1', '203.0.113.9'), '203.0.113.9', 'mapped trusted peer')
  t.equal(c.resolve('10.0.0.1', '1.1.1.1, 203.0.113.9, 10.0.0.2'), '203.0.113.9', 'skips trusted hops, ignores the client-written left part')
  t.equal(c.resolve('10.0.0.1', ['1.1.1.1, 203.0.113.9', '10.0.0.2']), '203.0.113.9', 'several XFF headers')
  t.equal(c.resolve('10.0.0.1', '10.0.0.3, 10.0.0.2'), '10.0.0.3', 'all trusted: left-most')
  t.equal(c.resolve('10.0.0.1', 'garbage, 10.0.0.2'), '10.0.0.2', 'garbage stops the walk at the last good hop')
  t.equal(c.resolve('10.0.0.1', ' 203.0.113.9:4711 '), '203.0.113.9', 'port stripped')
  t.equal(c.resolve('10.0.0.1', '[2001:db9::1]:443'), '2001:db9::1', 'bracketed IPv6 with port')
  t.equal(c.resolve('2001:db8::5', '2001:db9::1'), '2001:db9::1', 'IPv6 trusted peer')
  t.ok(c.isTrusted('10.1.1.1'))
  t.notOk(c.isTrusted('11.1.1.1'))
})

t.test('allowlist through the gateway: trusted proxy XFF honoured, spoofed XFF ignored', async (t) => {
  const upstream = await startUpstream(t)
  const direct = await startGateway(t, upstream.url)
  await direct.setMaintenance({ enabled: true, allow: ['203.0.113.0/24'] })
  t.equal((await fetchText(`${direct.url}/`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 503,
    'XFF from an untrusted peer is ignored')

  const behindProxy = await startGateway(t, upstream.url, ['--trusted-proxies', '127.0.0.1/32'])
  await behindProxy.setMaintenance({ enabled: true, allow: ['203.0.113.0/24'] })
  t.equal((await fetchText(`${behindProxy.url}/`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 200, 'allowed client behind a trusted proxy')
  t.equal((await fetchText(`${behindProxy.url}/`, { headers: { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' } })).status, 503,
    'right-most untrusted entry decides, not a spoofed left one')
  t.equal((await fetchText(`${behindProxy.url}/`)).status, 503, 'no XFF: the proxy itself is the client')
  t.match(behindProxy.ctx.metrics.render(), /rule="allowlist"\} 1/)

  const localAllowed = await startGateway(t, upstream.url)
  await localAllowed.setMaintenance({ enabled: true, allow: ['127.0.0.0/8', '::1'] })
  t.equal((await fetchText(`${localAllowed.url}/`)).status, 200, 'socket peer in the allowlist')
})

t.test('a bad trusted proxy CIDR is a config error', async (t) => {
  const upstream = await startUpstream(t)
  const err = await startGateway(t, upstream.url, [], { extra: { trustedProxies: ['10.0.0.0/33'] } }).then(() => null, (e: unknown) => e)
  t.match(err, { name: 'ConfigError', setting: 'trustedProxies', message: /trustedProxies: invalid CIDR "10.0.0.0\/33"/ })
})
