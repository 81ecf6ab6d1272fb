import t from 'tap'
import { ADMIN_TOKEN, auth, buildTestAdmin } from '../admin/helpers.js'
import { compileFlags } from '../../src/flags/compile.js'
import { evaluateKey } from '../../src/flags/evaluate.js'
import { initialState } from '../../src/state/initial-state.js'
import type { Flag } from '../../src/state/types.js'

// A flag may require other flags to evaluate a given way for the same user (Unleash dependencies, LaunchDarkly prerequisites).
const admin = { ...auth(ADMIN_TOKEN), 'content-type': 'application/json' }

t.test('through the API: evaluation, OFREP reason, and what a write may not do', async (t) => {
  const { app } = await buildTestAdmin(t, ['--admin-token', ADMIN_TOKEN])
  const put = async (key: string, body: unknown) => await app.inject({ method: 'PUT', url: `/v1/flags/${key}`, headers: admin, payload: body as object })
  const ofrep = async (key: string, user: string, plan = 'pro') => (await app.inject({ method: 'POST', url: `/ofrep/v1/evaluate/flags/${key}`, headers: admin, payload: { context: { targetingKey: user, plan } } })).json()

  t.equal((await put('new-api', { enabled: true, rules: [{ attribute: 'plan', in: ['pro'], enabled: true }, { attribute: 'plan', in: ['free'], enabled: false }] })).statusCode, 201)
  t.equal((await put('theme', { enabled: true, variants: [{ name: 'dark', weight: 1 }, { name: 'light', weight: 0 }] })).statusCode, 201)
  const created = await put('new-checkout', { enabled: true, prerequisites: [{ flag: 'new-api' }, { flag: 'theme', variant: 'dark' }] })
  t.equal(created.statusCode, 201, created.body)
  t.same(created.json().prerequisites, [{ flag: 'new-api', enabled: true }, { flag: 'theme', variant: 'dark' }], '{flag} alone is stored as enabled: true')

  t.match(await ofrep('new-checkout', 'u1', 'pro'), { value: true, reason: 'STATIC' })
  t.match(await ofrep('new-checkout', 'u1', 'free'), { value: false, reason: 'PREREQUISITE_FAILED', variant: 'off' })
  const user = (await app.inject({ method: 'GET', url: '/v1/users/u2/flags?plan=free', headers: admin })).json() as { flags: Array<{ key: string, reason: string }> }
  t.match(user.flags.find((f) => f.key === 'new-checkout'), { enabled: false, reason: 'PREREQUISITE_FAILED' })

  await app.inject({ method: 'PATCH', url: '/v1/flags/theme', headers: admin, payload: { variants: [{ name: 'dark', weight: 0 }, { name: 'light', weight: 1 }] } })
  t.match(await ofrep('new-checkout', 'u1', 'pro'), { value: false, reason: 'PREREQUISITE_FAILED' }, 'the variant asked for is not served')

  const refusals: Array<[string, unknown, RegExp]> = [
    ['loop', { enabled: true, prerequisites: [{ flag: 'loop' }] }, /prerequisites\/0\/flag: a flag cannot be its own prerequisite/],
    ['x', { enabled: true, prerequisites: [{ flag: 'nope' }] }, /prerequisites\/0\/flag "nope" is not a flag/],
    ['x', { enabled: true, prerequisites: [{ flag: 'theme', variant: 'blue' }] }, /prerequisites\/0\/variant "blue" is not one of the variants of flag theme/],
    ['x', { enabled: true, prerequisites: [{ flag: 'theme', variant: 'dark', enabled: true }] }, /must have one of 'enabled' or 'variant', not both/],
    ['x', { enabled: true, prerequisites: [{ flag: 'theme' }, { flag: 'theme' }] }, /prerequisites\/1\/flag "theme" is listed twice/],
    ['new-api', { enabled: true, prerequisites: [{ flag: 'new-checkout' }] }, /would make a cycle: new-api → new-checkout → new-api/],
    ['theme', { enabled: true, variants: [{ name: 'light', weight: 1 }] }, /flag new-checkout requires variant "dark" of theme/]
  ]
  for (const [key, body, message] of refusals) {
    const res = await put(key, body)
    t.equal(res.statusCode, 400, `${key}: ${JSON.stringify(body)}`)
    t.match(res.json().message, message)
  }
  const del = await app.inject({ method: 'DELETE', url: '/v1/flags/new-api', headers: auth(ADMIN_TOKEN) })
  t.equal(del.statusCode, 409)
  t.match(del.json(), { code: 'DRAWBRIDGE_ERR_CONFLICT', message: /new-api is a prerequisite of new-checkout/ })
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/flags/new-checkout', headers: admin, payload: { prerequisites: null } })).statusCode, 200)
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/flags/new-api', headers: auth(ADMIN_TOKEN) })).statusCode, 204, 'free to delete once nothing requires it')
})

t.test('a cycle in a state written elsewhere is compiled, evaluates off and ends', async (t) => {
  const state = initialState()
  const flag = (key: string, prerequisites: Flag['prerequisites']): Flag => ({ key, description: null, enabled: true, rollout: null, variants: null, rules: null, gate: null, requires: null, prerequisites, createdAt: '', updatedAt: '' })
  state.flags = { a: flag('a', [{ flag: 'b', enabled: true }]), b: flag('b', [{ flag: 'a', enabled: true }]), c: flag('c', [{ flag: 'a', enabled: true }]), d: flag('d', [{ flag: 'gone', enabled: true }]), e: flag('e', null) }
  const table = compileFlags(state)
  const ctx = { targetingKey: 'u', attributes: {} }
  for (const key of ['a', 'b', 'c', 'd']) t.match(evaluateKey(table, key, ctx), { value: false, reason: 'PREREQUISITE_FAILED' }, key)
  t.match(evaluateKey(table, 'e', ctx), { value: true, reason: 'STATIC' })
})
