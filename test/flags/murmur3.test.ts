import t from 'tap'
import { murmur3, murmur3Bytes, normalizedValue, VARIANT_SEED } from '../../src/flags/murmur3.js'

t.test('Unleash normalizedValue vectors (node, java and go SDK test suites)', async (t) => {
  // unleash-client-node src/test/strategy/util.test.ts and unleash-client-java StrategyUtilsTest
  t.equal(normalizedValue('123', 'gr1'), 73)
  t.equal(normalizedValue('999', 'groupX'), 25)
  // unleash-client-java StrategyUtilsTest: normalized_values_with_variant_seed_are_the_same_across_node_java
  t.equal(normalizedValue('123', 'gr1', 100, VARIANT_SEED), 96)
  t.equal(normalizedValue('999', 'groupX', 100, VARIANT_SEED), 60)
})

t.test('murmur3 x86_32 reference vectors over UTF-8', async (t) => {
  // SMHasher / C++ reference over UTF-8 bytes (as reported in pid/murmurHash3js#3)
  t.equal(murmur3(0, 'My hovercraft is full of eels.'), 2953494853)
  t.equal(murmur3(0, 'My 🚀 is full of 🦎.'), 1818098979)
  t.equal(murmur3(0, '吉 星 高 照'), 3435142074)
  t.equal(murmur3(0, ''), 0)
  t.equal(murmur3(1, ''), 0x514e28b7)
  t.equal(murmur3Bytes(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 0), 0x76293b50)
  t.equal(murmur3Bytes(new Uint8Array([0x21, 0x43, 0x65, 0x87]), 0), 0xf55b516b)
  t.equal(murmur3Bytes(new Uint8Array([0x21, 0x43, 0x65]), 0), 0x7e4a8634)
  t.equal(murmur3Bytes(new Uint8Array([0x21, 0x43]), 0), 0xa0f7b07a)
  t.equal(murmur3Bytes(new Uint8Array([0x21]), 0), 0x72661cf4)
  t.equal(murmur3Bytes(new Uint8Array([0x21, 0x43, 0x65, 0x87]), 0x5082edee), 0x2362f9de)
})

t.test('streaming UTF-8 encoding equals Buffer encoding, parts concatenate', async (t) => {
  const samples = ['', 'a', 'ab', 'abc', 'abcd', 'é', 'ü:über', '€uro', '𝄞 clef', 'mixé 𝄞 €', 'lone \ud800 surrogate', 'tail \udc00']
  for (const s of samples) {
    t.equal(murmur3(42, s), murmur3Bytes(new Uint8Array(Buffer.from(s, 'utf8')), 42), JSON.stringify(s))
    t.equal(murmur3(7, s.slice(0, 2), s.slice(2)), murmur3(7, s), 'split ' + JSON.stringify(s))
  }
})
