import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { TypeCompiler } from '../../src/input/typebox.js'
import t from 'tap'
import { compileFlags } from '../../src/flags/compile.js'
import { evaluateKey, type EvaluationContext } from '../../src/flags/evaluate.js'
import { checkFlag } from '../../src/flags/flag-validate.js'
import { FlagBodySchema } from '../../src/flags/schemas.js'
import { payloadOf } from '../../src/flags/unleash-features.js'
import { initialState } from '../../src/state/initial-state.js'
import type { Flag } from '../../src/state/types.js'
import { contextOf, flagsOf, replay, Unmapped, type UState } from './unleash-spec-mapping.js'

/*
 * Unleash's own client specification (`@unleash/client-specification`), run
 * against Drawbridge's evaluation: every feature is translated into a flag
 * (unleash-spec-mapping.ts), each test's context becomes an evaluation
 * context, and every case must agree: `isEnabled` tests on the value, variant
 * tests on the variant, its payload, and whether the feature was on. A case
 * that does not map, or that Drawbridge answers otherwise on purpose, is
 * named below with the reason; anything else fails.
 */

interface UTest { description: string, context: Record<string, unknown>, toggleName: string, expectedResult: boolean }
interface UVariantResult { name: string, enabled: boolean, feature_enabled?: boolean, payload?: { type: string, value: string } }
interface UVariantTest { description: string, context: Record<string, unknown>, toggleName: string, expectedResult: UVariantResult }
interface USpec { name: string, state: UState, tests?: UTest[], variantTests?: UVariantTest[] }

const SPEC_DIR = join(dirname(createRequire(import.meta.url).resolve('@unleash/client-specification/package.json')), 'specifications')

/**
 * Where Drawbridge decides otherwise on purpose, named so a new disagreement
 * cannot hide among them.
 */
const KNOWN: Record<string, string> = {
  '17-dependent-features.json: Child is disabled if a transitive dependency exists.': 'prerequisite chains',
  '17-dependent-features.json: Child yields a disabled variant because of a transitive dependency.': 'prerequisite chains'
}
const WHY: Record<string, string> = {
  'prerequisite chains': 'Drawbridge follows a prerequisite whose flag has prerequisites of its own (as LaunchDarkly and GrowthBook do); Unleash SDKs treat such a dependency as unmet'
}

/** What Unleash's getVariant answers, from a Drawbridge evaluation. */
function variantResult (flags: Map<string, Flag | Unmapped>, key: string, ev: ReturnType<typeof evaluateKey>): UVariantResult {
  if (!ev.value) return { name: 'disabled', enabled: false, feature_enabled: false }
  if (ev.variant === null) return { name: 'disabled', enabled: false, feature_enabled: true }
  const flag = flags.get(key) as Flag
  const payload = payloadOf((flag.variants ?? []).find((v) => v.name === ev.variant)?.value)
  return { name: ev.variant, ...(payload === undefined ? {} : { payload }), enabled: true, feature_enabled: true }
}

/**
 * Features whose flag the admin API refuses (400 naming the field): operands
 * Unleash ignores or treats as never matching, which Drawbridge evaluates the
 * same way when a stored state holds them, but will not take from a client.
 */
const REFUSED_BY_API: Record<string, RegExp> = {
  'Feature.remoteAddress.C': /cidr\/1 invalid CIDR "192.invalid"/,
  'CIDR.mixed.values': /cidr\/0 invalid CIDR "127.invalid"/,
  'CIDR.invalid.only': /cidr\/0 invalid CIDR "127.invalid"/,
  'CIDR.ipv6.mixed.values': /cidr\/0 invalid CIDR "bad::cidr"/,
  'F8.invalidSemverWithLeadingV': /semverEq "v2.0.0" is not a semantic version/,
  'invalid-regex-defaults-to-false': /regex is not a pattern .* missing closing \)/,
  'R90.reject_lookahead': /regex is not a pattern .* unsupported Perl syntax/,
  'R91.reject_backreference': /regex is not a pattern .* invalid escape sequence/
}
const bodyChecker = TypeCompiler.Compile(FlagBodySchema)

/** Why the admin API would refuse this flag as a PUT body (its key aside: Unleash names need not be Drawbridge keys), or null. */
function apiRefusal (flag: Flag): string | null {
  const { key: _key, ...body } = flag
  const error = bodyChecker.Errors(body).First()
  if (error !== undefined) return `${error.path} ${error.message}`
  try { checkFlag(flag) } catch (err) { return (err as Error).message }
  return null
}

const canonical = (r: UVariantResult): string => JSON.stringify([r.name, r.enabled, r.feature_enabled ?? null, r.payload?.type ?? null, r.payload?.value ?? null])

const index = JSON.parse(readFileSync(join(SPEC_DIR, 'index.json'), 'utf8')) as string[]
let total = 0
let mapped = 0
let agreed = 0
const unmapped = new Map<string, number>()
const disagreements: string[] = []
const known = new Map<string, number>()
const refused = new Map<string, string>()
let flagCount = 0
for (const file of index) {
  const spec = JSON.parse(readFileSync(join(SPEC_DIR, file), 'utf8')) as USpec
  const { features, segments } = replay(spec.state)
  const flags = flagsOf(features, segments)
  const state = initialState()
  for (const [key, flag] of flags) {
    if (flag instanceof Unmapped) continue
    state.flags[key] = flag
    flagCount++
    const why = apiRefusal(flag)
    if (why !== null) refused.set(key, why)
  }
  const table = compileFlags(state)
  const cases = [
    ...(spec.tests ?? []).map((c) => ({ ...c, want: String(c.expectedResult), got: (ev: ReturnType<typeof evaluateKey>) => String(ev.value) })),
    ...(spec.variantTests ?? []).map((c) => ({ ...c, want: canonical(c.expectedResult), got: (ev: ReturnType<typeof evaluateKey>) => canonical(variantResult(flags, c.toggleName, ev)) }))
  ]
  for (const c of cases) {
    total++
    const flag = flags.get(c.toggleName)
    if (flag instanceof Unmapped) { unmapped.set(flag.message, (unmapped.get(flag.message) ?? 0) + 1); continue }
    mapped++
    // A feature the state does not hold evaluates as Drawbridge's FLAG_NOT_FOUND: off, as Unleash answers.
    const got = c.got(evaluateKey(table, c.toggleName, contextOf(c.context) satisfies EvaluationContext))
    const name = `${file}: ${c.description}`
    if (got === c.want) agreed++
    else if (KNOWN[name] !== undefined) known.set(KNOWN[name], (known.get(KNOWN[name]) ?? 0) + 1)
    else disagreements.push(`${name} (Unleash ${c.want}, Drawbridge ${got})`)
  }
}

t.test('every case of the Unleash client specification maps and agrees, but those named', async (t) => {
  t.comment(`Unleash client specification: ${total} cases, ${mapped} map, ${agreed} agree`)
  if (unmapped.size > 0) t.comment(`not mapped: ${[...unmapped].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${why} ${n}`).join('; ')}`)
  for (const [reason, n] of known) t.comment(`answered otherwise on purpose: ${n} (${WHY[reason] ?? reason})`)
  t.same(disagreements, [])
  t.same([...unmapped.keys()], [], 'every case maps')
  t.equal(agreed + [...known.values()].reduce((a, b) => a + b, 0), mapped)
  t.equal(total, 279, 'the specification version this test was written against')
})

t.test('each translated flag is one the admin API accepts, but for operands it refuses on purpose', async (t) => {
  t.comment(`${flagCount - refused.size} of ${flagCount} flags pass the API's schema and checks`)
  t.same([...refused.keys()].sort(), Object.keys(REFUSED_BY_API).sort())
  for (const [key, why] of refused) t.match(why, REFUSED_BY_API[key] ?? /^$/, key)
})
