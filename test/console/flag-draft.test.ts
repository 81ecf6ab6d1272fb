import t from 'tap'
import { flagPatch, toFlagDraft } from '../../console/src/pages/flag-draft.js'
import type { Flag } from '../../console/src/types.js'

const base = {
  key: 'checkout',
  description: 'old',
  enabled: true,
  rollout: null,
  variants: null,
  gate: null,
  requires: null,
  prerequisites: null,
  createdAt: '2026-12-01T00:00:00Z',
  updatedAt: '2026-12-01T00:00:00Z'
}

t.test('rules the rows cannot show stay JSON, so a save never drops their fields', async (t) => {
  const shapes = [
    { conditions: [{ attribute: 'plan', in: ['pro'] }, { attribute: 'country', in: ['NL'] }], enabled: true },
    { attribute: 'plan', in: ['pro'], rollout: { percentage: 10 }, enabled: true },
    { attribute: 'plan', in: ['pro'], inverted: true, enabled: true },
    { attribute: 'email', regex: '@example\\.com$', enabled: true }
  ]
  for (const rule of shapes) {
    const flag = { ...base, rules: [rule] } as unknown as Flag
    const draft = toFlagDraft(flag)
    t.equal(draft.rules, null, `${JSON.stringify(rule)}: edited as JSON`)
    t.same(JSON.parse(draft.rulesJson), [rule])
    t.same(flagPatch({ ...draft, description: 'new' }, draft), { description: 'new' }, 'an unrelated edit sends only that field')
  }
  const simple = toFlagDraft({ ...base, rules: [{ attribute: 'plan', in: ['pro', 'team'], enabled: true }] } as unknown as Flag)
  t.same(simple.rules, [{ attribute: 'plan', op: 'in', values: 'pro, team', caseInsensitive: false, serves: 'on' }], 'a plain rule is a row')
})
