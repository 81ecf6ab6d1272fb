import { RE2JS } from 're2js'
import t from 'tap'
import { randomDraws } from '../../src/flags/buckets.js'
import { answersTag, compileFlag, compileFlags, nextStepAt } from '../../src/flags/compile.js'
import { evaluateFlag } from '../../src/flags/evaluate.js'
import { normalizedValue, VARIANT_SEED } from '../../src/flags/murmur3.js'
import type { Flag, FlagCondition, FlagRule } from '../../src/state/types.js'
import { makeFlag, makeState } from './helpers.js'

/*
 * The targeting forms beyond the contract's {attribute, in, enabled}: rules
 * with several conditions, their own rollout and variants; inverted,
 * caseInsensitive, regex and date operators; stickiness; variant overrides.
 */

function ev (flag: Flag, key: string | undefined, attributes: Record<string, unknown> = {}, now?: number) {
  return evaluateFlag(compileFlag(flag, undefined), { targetingKey: key, attributes, now })
}

/** Whether one condition holds for `value` of attribute `a` (or `currentTime`). */
function holds (condition: Omit<FlagCondition, 'attribute'> & { attribute?: string }, value: unknown, now?: number): boolean {
  const attribute = condition.attribute ?? 'a'
  const flag = makeFlag('c', { rollout: { percentage: 0 }, rules: [{ conditions: [{ ...condition, attribute }] }] })
  return ev(flag, 'u', value === undefined ? {} : { [attribute]: value }, now).reason === 'TARGETING_MATCH'
}

t.test('conditions on several attributes must all hold, with the rule\'s own one', async (t) => {
  const rule: FlagRule = { attribute: 'env', in: ['prod'], conditions: [{ attribute: 'country', in: ['no', 'se'] }, { attribute: 'targetingKey', startsWith: ['u-'] }], variant: 'b' }
  const flag = makeFlag('m', { rollout: { percentage: 0 }, variants: [{ name: 'a', weight: 1 }, { name: 'b', weight: 0 }], rules: [rule] })
  t.match(ev(flag, 'u-1', { env: 'prod', country: 'se' }), { value: true, variant: 'b', reason: 'TARGETING_MATCH' })
  t.match(ev(flag, 'u-1', { env: 'dev', country: 'se' }), { value: false, reason: 'SPLIT' }, 'the rule\'s own condition')
  t.match(ev(flag, 'u-1', { env: 'prod', country: 'dk' }), { value: false }, 'a condition')
  t.match(ev(flag, 'x-1', { env: 'prod', country: 'no' }), { value: false }, 'the targeting key condition')
  const conditionsOnly = makeFlag('c', { rollout: { percentage: 0 }, rules: [{ conditions: [{ attribute: 'n', gt: 1 }, { attribute: 'n', lt: 5 }] }] })
  t.equal(ev(conditionsOnly, 'u', { n: 3 }).value, true, 'a range on one attribute')
  t.equal(ev(conditionsOnly, 'u', { n: 5 }).value, false)
  // Rules the API refuses, as a hand-edited state may hold them: they match no one.
  for (const rule of [{ attribute: 'plan' }, { enabled: true }, { conditions: [] }] as FlagRule[]) {
    t.equal(ev(makeFlag('s', { rollout: { percentage: 0 }, rules: [rule] }), 'u', { plan: 'pro' }).reason, 'SPLIT', `stored ${JSON.stringify(rule)} never matches`)
  }
})

t.test('inverted negates every operator, an absent attribute included', async (t) => {
  const cases: Array<[Omit<FlagCondition, 'attribute'>, unknown, boolean]> = [
    [{ in: ['a'] }, 'a', false], [{ in: ['a'] }, undefined, true],
    [{ notIn: ['a'] }, 'a', true], [{ notIn: ['a'] }, undefined, false],
    [{ contains: ['mail'] }, 'x@mail', false], [{ contains: ['mail'] }, 'x@other', true],
    [{ startsWith: ['A'], caseInsensitive: true }, 'abc', false],
    [{ eq: 12 }, '12', false], [{ eq: 12 }, '13', true], [{ gt: 1 }, undefined, true],
    [{ semverGte: '2.0.0' }, '1.9.9', true], [{ cidr: ['10.0.0.0/8'] }, '10.1.2.3', false],
    [{ regex: '^a+$' }, 'aaa', false], [{ regex: '^a+$' }, 'aab', true]
  ]
  for (const [c, value, want] of cases) t.equal(holds({ ...c, inverted: true }, value), want, `inverted ${JSON.stringify(c)} on ${String(value)}`)
})

t.test('regex: RE2 syntax, anywhere unless anchored, case folding; compiled once', async (t) => {
  t.ok(holds({ regex: '\\bcat\\b' }, 'a cat b'))
  t.notOk(holds({ regex: '\\bcat\\b' }, 'concatenate'))
  t.notOk(holds({ regex: '^abc$' }, 'ABC'))
  t.ok(holds({ regex: '^abc$', caseInsensitive: true }, 'ABC'))
  t.ok(holds({ regex: '^user\\d{3}$' }, 'user123'))
  t.ok(holds({ regex: '^1' }, 12), 'numbers are matched as text')
  t.notOk(holds({ regex: '(unclosed' }, '(unclosed'), 'a pattern that does not compile (from a stored state) never matches')

  const cf = compileFlag(makeFlag('r', { rollout: { percentage: 0 }, rules: [{ attribute: 'email', regex: '@example\\.com$' }] }), undefined)
  const compile = RE2JS.compile
  let compiles = 0
  RE2JS.compile = (...args: Parameters<typeof compile>) => { compiles++; return compile(...args) }
  t.teardown(() => { RE2JS.compile = compile })
  let on = 0
  for (let i = 0; i < 1000; i++) if (evaluateFlag(cf, { targetingKey: `u${i}`, attributes: { email: i % 2 === 0 ? `u${i}@example.com` : `u${i}@else.org` } }).value) on++
  t.equal(on, 500)
  t.equal(compiles, 0, 'evaluation never compiles a pattern')
})

t.test('dates compare the evaluation instant: currentTime from the context, else now', async (t) => {
  const at = Date.parse('2026-03-01T12:00:00Z')
  t.ok(holds({ attribute: 'currentTime', dateAfter: '2026-03-01T12:00:00Z' }, '2026-03-01T12:00:01Z'))
  t.notOk(holds({ attribute: 'currentTime', dateAfter: '2026-03-01T12:00:00Z' }, '2026-03-01T12:00:00Z'), 'after is exclusive')
  t.ok(holds({ attribute: 'currentTime', dateBefore: '2026-03-01T14:00:00+02:00' }, '2026-03-01T11:59:59Z'), 'offsets are honoured')
  t.ok(holds({ attribute: 'currentTime', dateAfter: '2026-03-01T12:00:00Z' }, undefined, at + 1), 'no currentTime: the evaluation instant')
  t.notOk(holds({ attribute: 'currentTime', dateAfter: '2026-03-01T12:00:00Z' }, undefined, at - 1))
  t.ok(holds({ attribute: 'currentTime', dateAfter: '2000-01-01T00:00:00Z' }, undefined), 'no instant given: the clock')
  t.notOk(holds({ attribute: 'currentTime', dateAfter: '2000-01-01T00:00:00Z' }, 'not a date'))
  t.notOk(holds({ attribute: 'when', dateAfter: '2000-01-01T00:00:00Z' }, '2001-01-01T00:00:00Z'), 'only on currentTime (a stored state may hold another)')

  // The gateway caches answers until the next instant at which one could change; OFREP's ETag counts the instants passed.
  const table = compileFlags(makeState([makeFlag('launch', { rollout: { percentage: 0 }, rules: [{ attribute: 'currentTime', dateAfter: '2026-03-01T12:00:00Z' }] })]))
  t.equal(nextStepAt(table, at - 10), at)
  t.equal(nextStepAt(table, at), Infinity)
  t.not(answersTag(table, at - 1), answersTag(table, at))
  t.equal(answersTag(table, at), answersTag(table, at + 1000))
})

t.test('rollout stickiness: the contract\'s, explicit ids, default, random', async (t) => {
  const flag = (rollout: Flag['rollout']) => makeFlag('s', { rollout })
  t.match(ev(flag({ percentage: 100 }), undefined), { value: true, reason: 'SPLIT' }, 'contract: 100% needs no key')
  t.match(ev(flag({ percentage: 50 }), undefined), { errorCode: 'TARGETING_KEY_MISSING' }, 'contract: a key, below 100%')
  t.match(ev(flag({ percentage: 100, stickiness: 'targetingKey' }), undefined), { value: false, reason: 'SPLIT' }, 'explicit: the id is needed even at 100% (Unleash)')
  t.match(ev(flag({ percentage: 100, stickiness: 'sessionId' }), 'u', { sessionId: '' }), { value: false }, 'an empty id is none')
  t.equal(ev(flag({ percentage: 100, stickiness: 'sessionId' }), undefined, { sessionId: 's1' }).value, true)

  // Unleash's flexibleRollout.10 of the client specification: userId 174 and sessionId 174 in, 499 out.
  const ten = flag({ percentage: 10, groupId: 'Feature.flexibleRollout.10', stickiness: 'default' })
  t.equal(ev(ten, '174').value, true)
  t.equal(ev(ten, undefined, { sessionId: '174' }).value, true, 'default falls back to sessionId')
  t.equal(ev(ten, undefined, { sessionId: '499' }).value, false)
  t.equal(ev(ten, '499', { sessionId: '174' }).value, false, 'the targeting key comes first')
  const custom = flag({ percentage: 50, groupId: 'Feature.flexible.rollout.custom.stickiness_50', stickiness: 'customField' })
  t.equal(ev(custom, 'u', { customField: '388' }).value, true)
  t.equal(ev(custom, 'u', { customField: '402' }).value, false)
  t.equal(ev(custom, 'u').value, false, 'no field, no bucket')

  const before = randomDraws()
  t.equal(ev(ten, 'u').reason, 'SPLIT')
  t.equal(randomDraws(), before, 'a sticky id draws nothing')
  let on = 0
  const random = compileFlag(flag({ percentage: 30, stickiness: 'random' }), undefined)
  for (let i = 0; i < 10_000; i++) if (evaluateFlag(random, { targetingKey: 'same', attributes: {} }).value) on++
  t.ok(on > 2500 && on < 3500, `random: 30% of evaluations, whoever asks (${on} of 10000)`)
  t.equal(randomDraws(), before + 10_000, 'every random answer is counted, so the gateway never caches it')
  t.equal(ev(flag({ percentage: 100, stickiness: 'random' }), undefined).value, true)
  t.equal(ev(flag({ percentage: 0, stickiness: 'random' }), undefined).value, false)
  t.equal(randomDraws(), before + 10_000, '0% and 100% need no draw')
  t.equal(ev(flag({ percentage: 40, stickiness: 'default' }), undefined).reason, 'SPLIT', 'default with no id draws')
  t.equal(randomDraws(), before + 10_001)
})

t.test('a rule\'s own rollout: outside it, the next rule or the fallthrough decides', async (t) => {
  const flag = makeFlag('r', {
    rollout: { percentage: 0 },
    rules: [
      { attribute: 'plan', in: ['pro'], rollout: { percentage: 50, groupId: 'pro-ramp' } },
      { rollout: { percentage: 100, stickiness: 'sessionId' }, enabled: true }
    ]
  })
  let pro = 0
  for (let i = 0; i < 2000; i++) {
    const r = ev(flag, `u${i}`, { plan: 'pro' })
    const inBucket = normalizedValue(`u${i}`, 'pro-ramp') <= 50
    if (r.value !== inBucket) t.fail(`u${i}`)
    if (r.value) pro++
  }
  t.ok(pro > 850 && pro < 1150, `half the pro users, by the rule's group (${pro} of 2000)`)
  const outside = [...Array(100).keys()].map((i) => `u${i}`).find((u) => normalizedValue(u, 'pro-ramp') > 50) as string
  t.match(ev(flag, outside, { plan: 'pro', sessionId: 's' }), { value: true, reason: 'TARGETING_MATCH' }, 'outside the bucket: the next rule')
  t.match(ev(flag, outside, { plan: 'pro' }), { value: false, reason: 'SPLIT' }, 'the next rule needs a session')
  t.match(ev(flag, undefined, { plan: 'pro' }), { value: false, reason: 'SPLIT' }, 'a rule\'s contract rollout without a key does not match (no error)')
})

t.test('variants: rule weights, groups, stickiness precedence and overrides', async (t) => {
  const variants = [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }, { name: 'vip', weight: 0, overrides: [{ attribute: 'plan', in: ['gold'] }, { attribute: 'targetingKey', in: ['boss'] }] }]
  // Unleash's Feature.strategy.multiple.variants: group "a", userId 5 → the first, userId 0 → the second.
  const strategy = makeFlag('s', { rollout: { percentage: 0 }, variants, rules: [{ rollout: { percentage: 100, groupId: 'a', stickiness: 'default' }, variants: [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }] }] })
  t.match(ev(strategy, '5'), { value: true, variant: 'a' })
  t.match(ev(strategy, '0'), { value: true, variant: 'b' })
  t.match(ev(strategy, 'x', { plan: 'gold' }), { variant: 'a' }, 'overrides apply to the variants a pick holds, not to others')

  const flag = makeFlag('v', { variants })
  t.match(ev(flag, 'boss'), { variant: 'vip' }, 'an override by targeting key, at weight 0')
  t.match(ev(flag, 'u', { plan: 'gold' }), { variant: 'vip' }, 'an override by attribute')
  t.match(ev(flag, undefined, { plan: 'gold' }), { variant: 'vip' }, 'overrides need no targeting key')
  t.match(ev(flag, undefined), { errorCode: 'TARGETING_KEY_MISSING' }, 'the contract: a hashed variant needs a key')
  t.match(ev({ ...flag, variantStickiness: 'sessionId' }, undefined, { sessionId: 's' }), { value: true }, 'with stickiness, a session will do')
  t.equal(ev({ ...flag, variantStickiness: 'default' }, undefined).value, true, 'default stickiness draws when nothing is sticky')

  // The flag's variantStickiness beats a rule rollout's stickiness; without it, the rule's applies.
  const pickBy = (variantStickiness: string | undefined): string | null => ev(makeFlag('p', {
    rollout: { percentage: 0 },
    variants: [{ name: 'x', weight: 1 }, { name: 'y', weight: 1 }],
    ...(variantStickiness === undefined ? {} : { variantStickiness }),
    rules: [{ rollout: { percentage: 100, groupId: 'g', stickiness: 'team' } }]
  }), 'user-1', { team: 'team-9', org: 'org-1' }).variant
  const expected = (id: string): string => normalizedValue(id, 'g', 2, VARIANT_SEED) === 1 ? 'x' : 'y'
  t.equal(pickBy(undefined), expected('team-9'), 'the rule\'s stickiness')
  t.equal(pickBy('org'), expected('org-1'), 'the flag\'s variantStickiness')
  t.not(expected('team-9'), expected('org-1'), 'the two ids land in different variants, so the test can tell')
})
