import t from 'tap'
import { unleashFeatures } from '../../src/flags/unleash-features.js'
import type { Flag } from '../../src/state/types.js'
import { makeFlag, makeState } from './helpers.js'

/*
 * The shapes Unleash SDKs receive for the targeting forms (the agreement on
 * answers is unleash-sdk.test.ts's), and the flags that cannot be served.
 */

function features (...flags: Flag[]) {
  return unleashFeatures(makeState(flags), Date.now())
}

t.test('conditions, rule rollouts and rule variants as native constraints, flexibleRollouts and strategy variants', async (t) => {
  const { features: [f], tooComplex } = features(makeFlag('f', {
    rollout: { percentage: 0 },
    variants: [{ name: 'a', weight: 1, value: 'A' }, { name: 'b', weight: 1, overrides: [{ attribute: 'targetingKey', in: ['boss'] }] }],
    rules: [
      { attribute: 'email', regex: '@acme\\.example$', caseInsensitive: true, conditions: [{ attribute: 'country', in: ['no'], inverted: true }, { attribute: 'currentTime', dateAfter: '2026-01-01T00:00:00Z' }], variant: 'a' },
      { attribute: 'plan', in: ['pro'], rollout: { percentage: 30, groupId: 'pro', stickiness: 'sessionId' }, variants: [{ name: 'b', weight: 2 }, { name: 'a', weight: 1 }] },
      { rollout: { percentage: 50, stickiness: 'targetingKey' } }
    ]
  }))
  t.same(tooComplex, [])
  t.match(f?.strategies, [
    {
      name: 'flexibleRollout',
      parameters: { rollout: '100', stickiness: 'default', groupId: 'f' },
      constraints: [
        { contextName: 'email', operator: 'REGEX', value: '@acme\\.example$', caseInsensitive: true, inverted: false },
        { contextName: 'country', operator: 'IN', values: ['no'], inverted: true },
        { contextName: 'currentTime', operator: 'DATE_AFTER', value: '2026-01-01T00:00:00Z' }
      ],
      variants: [{ name: 'a', weight: 1, payload: { type: 'string', value: 'A' } }]
    },
    {
      name: 'flexibleRollout',
      parameters: { rollout: '30', stickiness: 'sessionId', groupId: 'pro' },
      constraints: [{ contextName: 'plan', operator: 'IN', values: ['pro'] }],
      variants: [{ name: 'b', weight: 2, stickiness: 'sessionId', overrides: [{ contextName: 'userId', values: ['boss'] }] }, { name: 'a', weight: 1, stickiness: 'sessionId' }]
    },
    { name: 'flexibleRollout', parameters: { rollout: '50', stickiness: 'userId', groupId: 'f' }, constraints: [] }
  ], 'only off rules are negated; a fixed variant needs no user (default stickiness at 100%)')
  t.equal(f?.strategies.length, 3, 'the 0% fallthrough is no strategy')
})

t.test('an off rule is negated into the strategies after it, unless its rollout makes that impossible', async (t) => {
  const off = (rollout?: NonNullable<Flag['rules']>[number]['rollout']) => makeFlag('o', { rules: [{ attribute: 'plan', in: ['free'], enabled: false, ...(rollout === undefined ? {} : { rollout }) }] })
  t.match(features(off()).features[0]?.strategies, [{ name: 'default', constraints: [{ contextName: 'plan', operator: 'IN', values: ['free'], inverted: true }] }])
  t.match(features(off({ percentage: 100, stickiness: 'default' })).features[0]?.strategies, [{ constraints: [{ inverted: true }] }], 'a rollout everyone passes negates like none')
  t.match(features(off({ percentage: 0 })).features[0]?.strategies, [{ name: 'default', constraints: [] }], 'a rule no one passes is left out')
  const partial = features(off({ percentage: 30 }), makeFlag('fine'))
  t.same(partial.tooComplex, ['o'], 'Unleash cannot say "outside this bucket": served off and reported')
  t.match(partial.features, [{ name: 'fine', enabled: true }, { name: 'o', enabled: false, strategies: [] }])
  t.same(features(off({ percentage: 100, stickiness: 'sessionId' })).tooComplex, ['o'], 'nor "without a session"')
})

t.test('stickiness and groups reach the SDK', async (t) => {
  // Features come in key order: l, r, s.
  const [legacy, random, custom] = features(
    makeFlag('r', { rollout: { percentage: 10, stickiness: 'random' } }),
    makeFlag('s', { rollout: { percentage: 100, groupId: 'g', stickiness: 'tenant' }, variants: [{ name: 'x', weight: 1 }, { name: 'y', weight: 1 }], variantStickiness: 'default' }),
    makeFlag('l', { rollout: { percentage: 100 }, variants: [{ name: 'x', weight: 1 }, { name: 'y', weight: 1 }] })
  ).features
  t.match(random?.strategies, [{ name: 'flexibleRollout', parameters: { rollout: '10', stickiness: 'random' } }])
  t.match(custom?.strategies, [{ parameters: { rollout: '100', stickiness: 'tenant', groupId: 'g' }, variants: [{ stickiness: 'default' }, { stickiness: 'default' }] }])
  t.match(legacy?.strategies, [{ parameters: { rollout: '100', stickiness: 'userId', groupId: 'l' }, variants: [{ stickiness: 'userId' }, { stickiness: 'userId' }] }], 'the contract: hashed variants need the user id')
})
