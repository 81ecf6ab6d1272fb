import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import type { Finding } from '../../src/migrations/analyzer.js'
import { analyze } from './analyzer-helpers.js'

/**
 * The analyzer against a labelled corpus (analyzer-corpus/cases.json): SQL
 * adapted from squawk's and strong_migrations' test suites and from
 * PostgreSQL's documentation, plus our own, each citing its source. A case is
 * caught when a finding of severity medium or high names it; a safe case with
 * such a finding is a false alarm (low findings are notes, not alarms).
 */

interface Case { id: string, family: string, dangerous: boolean, rule?: string, source: string, sql: string }

const CASES = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'analyzer-corpus', 'cases.json'), 'utf8')) as Case[]

/** Goal on the outside corpus: 79 of 81 caught, at most 1 false alarm in 61. The same rates here. */
const MIN_CAUGHT = 79 / 81
const MAX_FALSE_ALARM_RATE = 1 / 61

function alarms (findings: Finding[]): Finding[] {
  return findings.filter((f) => f.severity !== 'low')
}

interface Tally { dangerous: number, caught: number, safe: number, falseAlarms: number }

t.test('the corpus is well formed', async (t) => {
  t.ok(CASES.length >= 300, `${CASES.length} cases`)
  t.equal(new Set(CASES.map((c) => c.id)).size, CASES.length, 'unique ids')
  for (const c of CASES) {
    t.ok(typeof c.sql === 'string' && c.sql.length > 0 && typeof c.dangerous === 'boolean' && c.source.length > 0 && c.family.length > 0, c.id)
  }
})

t.test('caught and false alarms, per family', async (t) => {
  const families = new Map<string, Tally>()
  const total: Tally = { dangerous: 0, caught: 0, safe: 0, falseAlarms: 0 }
  const misses: string[] = []
  const wrongRule: string[] = []
  for (const c of CASES) {
    const findings = await analyze(c.sql, c.id)
    t.notOk(findings.some((f) => f.rule === 'syntax-error'), `${c.id} parses`)
    const raised = alarms(findings)
    const tally = families.get(c.family) ?? { dangerous: 0, caught: 0, safe: 0, falseAlarms: 0 }
    families.set(c.family, tally)
    for (const s of [tally, total]) {
      if (c.dangerous) {
        s.dangerous++
        if (raised.length > 0) s.caught++
      } else {
        s.safe++
        if (raised.length > 0) s.falseAlarms++
      }
    }
    if (c.dangerous && raised.length === 0) misses.push(`missed ${c.id}: ${c.sql.replace(/\n/g, ' ')} [${findings.map((f) => `${f.rule}/${f.severity}`).join(', ')}]`)
    if (!c.dangerous && raised.length > 0) misses.push(`false alarm ${c.id}: ${c.sql.replace(/\n/g, ' ')} [${raised.map((f) => `${f.rule}/${f.severity}`).join(', ')}]`)
    if (c.rule !== undefined && raised.length > 0 && !raised.some((f) => f.rule === c.rule)) {
      wrongRule.push(`${c.id}: expected ${c.rule}, got ${raised.map((f) => f.rule).join(', ')}`)
    }
  }
  for (const [family, s] of families) {
    t.comment(`${family.padEnd(14)} caught ${s.caught}/${s.dangerous}  false alarms ${s.falseAlarms}/${s.safe}`)
  }
  t.comment(`TOTAL          caught ${total.caught}/${total.dangerous}  false alarms ${total.falseAlarms}/${total.safe}`)
  for (const m of misses) t.comment(m)
  t.same(wrongRule, [], 'the expected rule is among the findings')
  t.ok(total.caught / total.dangerous >= MIN_CAUGHT, `caught ${total.caught} of ${total.dangerous} (at least ${(MIN_CAUGHT * 100).toFixed(1)}%)`)
  t.ok(total.falseAlarms / total.safe <= MAX_FALSE_ALARM_RATE, `${total.falseAlarms} false alarms in ${total.safe} safe cases (at most ${(MAX_FALSE_ALARM_RATE * 100).toFixed(1)}%)`)
})
