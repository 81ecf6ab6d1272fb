import t from 'tap'
import { readCookie, readCookieValues } from '../../src/http/cookies.js'
import { BYPASS_COOKIE, bypassSetCookie, createBypassSigner, createSecretMatcher, createSecretPrefixMatcher, withoutCookie } from '../../src/maintenance/bypass-cookie.js'

const KEY = 'signing-key-0123456789abcdef0123'
const SECRET = 'c0ffee00c0ffee00c0ffee00c0ffee00'
const NOW = 1_800_000_000_000

t.test('issued cookies verify until they expire', async (t) => {
  const signer = createBypassSigner(KEY, SECRET)
  const value = signer.issue(NOW, 3600)
  t.match(value, /^v1\.\d+\.[A-Za-z0-9_-]{43}$/)
  t.notOk(value.includes(SECRET), 'the secret is not in the cookie')
  t.ok(signer.verify(value, NOW))
  t.ok(signer.verify(value, NOW + 3599_000))
  t.notOk(signer.verify(value, NOW + 3600_000), 'expired')
  t.notOk(signer.verify(value, NOW + 3600_000), 'expired (cached path)')
  t.ok(createBypassSigner(KEY, SECRET).verify(value, NOW), 'another replica with the same key and secret accepts it')
})

t.test('forged, tampered and rotated cookies are refused', async (t) => {
  const signer = createBypassSigner(KEY, SECRET)
  const value = signer.issue(NOW, 3600)
  const [, expiry, sig] = value.split('.') as [string, string, string]
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
  const refused = [
    '',
    'garbage',
    `v1.${expiry}`,
    `v1.${expiry}.`,
    `v1.${Number(expiry) + 100000}.${sig}`, // extended expiry
    `v1.${expiry}.${flip(sig, 5)}`, // tampered signature
    `v1.${expiry}.${sig.slice(0, -1)}`, // truncated
    `v1.${expiry}.${sig}A`, // extended
    `v2.${expiry}.${sig}`,
    `v1.0${expiry}.${sig}`, // non-canonical number
    `v1.${expiry}.${'A'.repeat(43)}`
  ]
  for (const forged of refused) t.notOk(signer.verify(forged, NOW), JSON.stringify(forged))
  t.notOk(createBypassSigner(KEY, 'a-new-secret-after-rotation').verify(value, NOW), 'rotated secret voids it')
  t.notOk(createBypassSigner('another-signing-key-0123456789ab', SECRET).verify(value, NOW), 'another signing key voids it')
  // A cookie minted with a guessed key for the right secret is still refused.
  t.notOk(signer.verify(createBypassSigner('guessed', SECRET).issue(NOW, 3600), NOW))
})

t.test('Set-Cookie attributes', async (t) => {
  t.equal(bypassSetCookie('v', 43200, false), 'drawbridge_bypass=v; Max-Age=43200; Path=/; HttpOnly; SameSite=Lax')
  t.equal(bypassSetCookie('v', 60, true), 'drawbridge_bypass=v; Max-Age=60; Path=/; HttpOnly; SameSite=Lax; Secure')
})

t.test('readCookie', async (t) => {
  t.equal(readCookie(undefined, BYPASS_COOKIE), undefined)
  t.equal(readCookie('drawbridge_bypass=abc', BYPASS_COOKIE), 'abc')
  t.equal(readCookie('a=1; drawbridge_bypass=abc; b=2', BYPASS_COOKIE), 'abc')
  t.equal(readCookie('a=1;drawbridge_bypass="abc"', BYPASS_COOKIE), 'abc')
  t.equal(readCookie('xdrawbridge_bypass=nope; a=1', BYPASS_COOKIE), undefined)
  t.equal(readCookie('xdrawbridge_bypass=nope; drawbridge_bypass=yes', BYPASS_COOKIE), 'yes')
  t.equal(readCookie('drawbridge_bypassx=1', BYPASS_COOKIE), undefined)
})

t.test('secret matcher', async (t) => {
  const match = createSecretMatcher(SECRET)
  t.ok(match(SECRET))
  t.notOk(match(SECRET.toUpperCase()))
  t.notOk(match(SECRET.slice(1)))
  t.notOk(match(''))
})

t.test('a signer bound to a generation refuses cookies of another generation of the same value', async (t) => {
  const one = createBypassSigner(KEY, SECRET, 'generation-1')
  const value = one.issue(NOW, 3600)
  t.ok(createBypassSigner(KEY, SECRET, 'generation-1').verify(value, NOW))
  t.notOk(createBypassSigner(KEY, SECRET, 'generation-2').verify(value, NOW))
  t.notOk(createBypassSigner(KEY, SECRET).verify(value, NOW), 'nor the legacy value binding')
})

t.test('readCookieValues: one, several, none', async (t) => {
  t.equal(readCookieValues(undefined, BYPASS_COOKIE), undefined)
  t.equal(readCookieValues('a=b', BYPASS_COOKIE), undefined)
  t.equal(readCookieValues('a=b; drawbridge_bypass=v1', BYPASS_COOKIE), 'v1')
  t.same(readCookieValues('drawbridge_bypass=forged; a=b; drawbridge_bypass="v1"', BYPASS_COOKIE), ['forged', 'v1'])
  t.equal(readCookieValues('xdrawbridge_bypass=1; drawbridge_bypass=v1', BYPASS_COOKIE), 'v1', 'a longer name is another cookie')
})

t.test('withoutCookie removes every bypass cookie and keeps the rest', async (t) => {
  t.equal(withoutCookie('a=b; c=d', BYPASS_COOKIE), 'a=b; c=d')
  t.equal(withoutCookie('a=b; drawbridge_bypass=x; c=d; drawbridge_bypass=y', BYPASS_COOKIE), 'a=b; c=d')
  t.equal(withoutCookie('drawbridge_bypass=x', BYPASS_COOKIE), null)
  t.equal(withoutCookie('xdrawbridge_bypass=1', BYPASS_COOKIE), 'xdrawbridge_bypass=1')
})

t.test('secret prefix matcher: the secret path and everything starting with it', async (t) => {
  const under = createSecretPrefixMatcher(SECRET)
  for (const p of [`/${SECRET}`, `/${SECRET}/`, `/${SECRET}x`, `/${SECRET}/x`]) t.ok(under(p), p)
  for (const p of ['/', `/${SECRET.slice(0, -1)}`, `/x${SECRET}`, `${SECRET}/`, `/${SECRET.toUpperCase()}`]) t.notOk(under(p), p)
})
