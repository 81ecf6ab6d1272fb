import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { request } from 'undici'
import { runDrawbridge, spawnGateway } from '../helpers/spawn-gateway.js'

const TOKEN = 'cli-admin-token-0123456789'

const upstream = createServer((req, res) => { res.end(`app:${req.method ?? ''} ${req.url ?? ''}`) })
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
t.teardown(() => { upstream.close() })
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`

async function get (url: string, init: { method?: 'GET' | 'POST', headers?: Record<string, string> } = {}): Promise<{ status: number, headers: Record<string, string | string[] | undefined>, body: string }> {
  const res = await request(url, { method: init.method ?? 'GET', headers: init.headers, reset: true })
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
}

// One gateway for both tests: spawning is the slow part.
const gw = await spawnGateway(t, ['--upstream', upstreamUrl, '--admin-token', TOKEN])
const adminUrl = `http://${gw.admin}`
const site = `http://${gw.gateway}`

t.test('maintenance on, off against a running gateway', async (t) => {
  const env = { DRAWBRIDGE_ADMIN_URL: adminUrl, DRAWBRIDGE_ADMIN_TOKEN: TOKEN }

  const on = await runDrawbridge(['maintenance', 'on', '--message', 'Upgrading the database', '--retry', '120', '--ends-at', '+30m',
    '--allow', '10.0.0.0/8', '--except', '/healthz', '--secret'], env)
  t.equal(on.code, 0, on.stderr)
  t.match(on.stdout, /^Changed:\n {2}enabled: false → true\n/)
  t.match(on.stdout, /\nMaintenance is ON/)
  t.match(on.stdout, /message\s+Upgrading the database/)
  t.match(on.stdout, /ends at\s+\S+Z \(in 29 min\)/)
  t.match(on.stdout, /updated\s+\S+ by admin/)
  const bypass = /Bypass URL[^\n]*: (http:\/\/\S+)\n/.exec(on.stdout)?.[1]
  t.ok(bypass, 'on --secret prints the bypass URL')
  t.match(bypass, new RegExp(`^${site}/[A-Za-z0-9_-]{22,}$`))

  const blocked = await get(`${site}/shop`, { headers: { accept: 'application/json' } })
  t.equal(blocked.status, 503)
  t.match(JSON.parse(blocked.body), { error: 'maintenance', message: 'Upgrading the database', retryAfter: 120 })
  t.equal((await get(`${site}/healthz`)).body, 'app:GET /healthz', 'except paths pass')
  const cookie = await get(bypass as string)
  t.equal(cookie.status, 302, 'the printed bypass URL works')
  t.match(String(cookie.headers['set-cookie']), /^drawbridge_bypass=/)

  const readOnly = await runDrawbridge(['maintenance', 'on', '--keep', '--mode', 'read-only', '--no-secret', '--json'], env)
  t.equal(readOnly.code, 0, readOnly.stderr)
  t.match(JSON.parse(readOnly.stdout), { enabled: true, mode: 'read-only', secret: null, bypassUrl: null, message: 'Upgrading the database', retryAfter: 120, allow: ['10.0.0.0/8'], exceptPaths: ['/healthz'], updatedBy: 'admin' },
    'with --keep, options left out keep their value')
  t.equal((await get(`${site}/shop`)).status, 200, 'read-only lets GET through')
  t.equal((await get(`${site}/cart`, { method: 'POST' })).status, 503, 'and blocks writes')

  const down = await runDrawbridge(['maintenance', 'off'], env)
  t.equal(down.code, 0)
  t.match(down.stdout, /\nMaintenance is OFF/)
  t.equal((await get(`${site}/shop`)).body, 'app:GET /shop')
})

t.test('errors: API refusals exit 1 with the server message, usage errors exit 2', async (t) => {
  const [wrongToken, flagToken, unreachable, invalid, badRetry, noAction, statusWithChange] = await Promise.all([
    runDrawbridge(['maintenance', 'on'], { DRAWBRIDGE_ADMIN_URL: adminUrl, DRAWBRIDGE_ADMIN_TOKEN: 'not-the-token-0123456789' }),
    runDrawbridge(['maintenance', 'status', '--admin-url', adminUrl, '--admin-token', TOKEN], { DRAWBRIDGE_ADMIN_TOKEN: 'not-the-token-0123456789' }),
    runDrawbridge(['maintenance', 'status', '--admin-url', 'http://127.0.0.1:9']),
    runDrawbridge(['maintenance', 'on', '--allow', '10.0.0.0/33'], { DRAWBRIDGE_ADMIN_URL: adminUrl, DRAWBRIDGE_ADMIN_TOKEN: TOKEN }),
    runDrawbridge(['maintenance', 'on', '--retry', 'soon']),
    runDrawbridge(['maintenance']),
    runDrawbridge(['maintenance', 'status', '--message', 'x'])
  ])
  t.equal(wrongToken.code, 1)
  t.match(wrongToken.stderr, /^drawbridge: Missing or invalid bearer token \(HTTP 401, DRAWBRIDGE_ERR_UNAUTHORIZED\)\n$/)
  t.equal(flagToken.code, 0, '--admin-token beats DRAWBRIDGE_ADMIN_TOKEN')
  t.match(flagToken.stdout, /^Maintenance is OFF/)
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /^drawbridge: cannot reach the admin API at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\)/)
  t.equal(invalid.code, 1)
  t.match(invalid.stderr, /allow\/0 invalid CIDR "10\.0\.0\.0\/33".*DRAWBRIDGE_ERR_INVALID/)
  t.equal(badRetry.code, 2)
  t.match(badRetry.stderr, /--retry/)
  t.equal(noAction.code, 2)
  t.match(noAction.stdout, /Usage: drawbridge maintenance/)
  t.equal(statusWithChange.code, 2)

  const state = await runDrawbridge(['maintenance', 'status', '--json'], { DRAWBRIDGE_ADMIN_URL: adminUrl, DRAWBRIDGE_ADMIN_TOKEN: TOKEN })
  t.match(JSON.parse(state.stdout), { enabled: false, mode: 'full', allow: ['10.0.0.0/8'] }, 'the refused changes changed nothing')
})

t.test('each on starts a fresh window; off voids the secret; down/up; already-on notices', async (t) => {
  const env = { DRAWBRIDGE_ADMIN_URL: adminUrl, DRAWBRIDGE_ADMIN_TOKEN: TOKEN }
  const json = async (args: string[]): Promise<Record<string, unknown>> => {
    const r = await runDrawbridge([...args, '--json'], env)
    t.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return JSON.parse(r.stdout) as Record<string, unknown>
  }
  await json(['maintenance', 'on', '--message', 'Last week', '--retry', '60', '--starts-at', '+1h', '--except', '/webhooks', '--secret'])
  const fresh = await json(['maintenance', 'down', '--ends-at', '+30m'])
  t.match(fresh, { enabled: true, message: null, retryAfter: null, startsAt: null, exceptPaths: ['/webhooks'] }, 'window fields reset, standing configuration kept')
  t.type(fresh.bypassUrl, 'string', 'on keeps the secret unless told')
  const blocked = await get(`${site}/shop`)
  t.equal(blocked.status, 503, 'the leftover startsAt no longer delays the window')
  const retry = Number(blocked.headers['retry-after'])
  t.ok(retry > 1700 && retry <= 1800, `Retry-After follows --ends-at, not the old --retry 60 (${retry})`)

  const again = await runDrawbridge(['maintenance', 'on', '--message', 'Still at it'], env)
  t.match(again.stdout, /^Maintenance was already on \(down\): starting its window afresh\.\nChanged:\n[\s\S]*message: - → Still at it/)

  const retryAt = await json(['maintenance', 'on', '--retry', '+10m'])
  t.ok(Number(retryAt.retryAfter) > 590 && Number(retryAt.retryAfter) <= 600, '--retry takes a time to retry at')

  const up = await json(['maintenance', 'up'])
  t.match(up, { enabled: false, secret: null, bypassUrl: null }, 'off voids the secret')
  const upAgain = await runDrawbridge(['maintenance', 'off'], env)
  t.match(upAgain.stdout, /^Maintenance was already off \(up\)\.\nNothing changed\./)

  const withSecret = await json(['maintenance', 'on', '--secret'])
  t.type(withSecret.bypassUrl, 'string')
  t.match(await json(['maintenance', 'off', '--keep-secret']), { enabled: false, bypassUrl: withSecret.bypassUrl }, '--keep-secret keeps it')
  t.match(await json(['maintenance', 'on', '--secret', '']), { bypassUrl: null }, '--secret "" removes the secret, as the help says')
  await json(['maintenance', 'off'])

  const misplaced = await runDrawbridge(['maintenance', 'off', '--message', 'x'], env)
  t.equal(misplaced.code, 2)
  t.match(misplaced.stderr, /--message sets up a window/)
})
