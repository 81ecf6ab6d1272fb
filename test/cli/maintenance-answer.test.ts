import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { request } from 'undici'
import { parseArgs } from '../../src/cli/args.js'
import { buildPatch } from '../../src/cli/maintenance.js'
import { runDrawbridge, spawnGateway } from '../helpers/spawn-gateway.js'
import { startUpstream } from '../helpers/upstream.js'

/*
 * Laravel's `down --status --refresh --render` through the CLI: the answer's
 * status, a Refresh header for browsers, and a page template stored with the
 * state, so a second replica on the same Redis serves the same page without
 * having the file.
 */
const TOKEN = 'answer-admin-token-0123456789'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

const dir = mkdtempSync(join(tmpdir(), 'drawbridge-answer-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
const config = join(dir, 'drawbridge.json')
writeFileSync(config, JSON.stringify({ redis: { keyPrefix: `test:answer:${process.pid}:${Date.now()}:` } }))
const pageFile = join(dir, 'down.html')
writeFileSync(pageFile, '<!doctype html><title>Down</title><h1>Custom: {{message}}</h1><p>retry in {{retryAfter}} s</p>')

async function get (url: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET'): Promise<{ status: number, headers: Record<string, unknown>, body: string }> {
  const res = await request(url, { method, headers, reset: true })
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() }
}

t.test('down --status --refresh --render, on two replicas; up resets them', async (t) => {
  const upstream = await startUpstream(t)
  const args = ['--upstream', upstream.url, '--admin-token', TOKEN, '--redis-url', REDIS_URL, '--config', config]
  const [one, two] = await Promise.all([spawnGateway(t, args), spawnGateway(t, args)])
  const env = { DRAWBRIDGE_ADMIN_URL: `http://${one.admin}`, DRAWBRIDGE_ADMIN_TOKEN: TOKEN }

  const down = await runDrawbridge(['maintenance', 'down', '--message', 'New <shop>', '--retry', '60', '--status', '500', '--refresh', '15', '--render', pageFile], env)
  t.equal(down.code, 0, down.stderr)
  t.match(down.stdout, /status: 503 → 500/)
  t.match(down.stdout, /refresh: - → 15/)
  t.match(down.stdout, /page: - → custom \(\d+ bytes\)/)
  t.match(down.stdout, /status\s+500/)
  t.match(down.stdout, /refresh\s+every 15 s/)

  for (const gw of [one, two]) {
    let page = await get(`http://${gw.gateway}/shop`)
    // The second replica hears of the change through Redis within a second.
    for (let i = 0; i < 20 && page.status !== 500; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      page = await get(`http://${gw.gateway}/shop`)
    }
    t.equal(page.status, 500, `replica ${gw.gateway}: the chosen status`)
    t.equal(page.headers.refresh, '15')
    t.equal(page.headers['retry-after'], '60')
    t.equal(page.body, '<!doctype html><title>Down</title><h1>Custom: New &lt;shop&gt;</h1><p>retry in 60 s</p>', 'the stored page, its slots escaped')
    const json = await get(`http://${gw.gateway}/shop`, { accept: 'application/json' })
    t.equal(json.status, 500)
    t.equal(json.headers.refresh, undefined, 'Refresh is for browsers; API clients use Retry-After')
    t.match(JSON.parse(json.body), { error: 'maintenance', message: 'New <shop>' })
    const head = await get(`http://${gw.gateway}/shop`, {}, 'HEAD')
    t.equal(head.status, 500)
    t.equal(head.body, '')
  }

  const explained = await request(`http://${one.admin}/v1/explain`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ method: 'GET', path: '/shop', ip: '192.0.2.1', headers: {} })
  })
  t.match(await explained.body.json(), { action: 'block', status: 500 }, 'explain reports the status the gateway answers with')

  // A fresh window resets what the last one chose.
  const again = await runDrawbridge(['maintenance', 'on', '--message', 'Second window'], env)
  t.equal(again.code, 0, again.stderr)
  const plain = await get(`http://${one.gateway}/shop`)
  t.equal(plain.status, 503)
  t.equal(plain.headers.refresh, undefined)
  t.match(plain.body, /Second window/)
  t.notMatch(plain.body, /Custom:/, 'the configured page again')
  t.equal((await runDrawbridge(['maintenance', 'up'], env)).code, 0)
})

t.test('bad values: usage errors from the CLI, 400 naming the field from the API', async (t) => {
  // Each check as the CLI makes it before any request (in this process), and one through the binary for the exit code.
  const cases: Array<[string[], RegExp]> = [
    [['--status', '200'], /--status: "200" must be an HTTP status from 400 to 599/],
    [['--status', '5xx'], /--status: "5xx" must be an HTTP status/],
    [['--refresh', '0'], /--refresh: "0" must be a whole number of seconds from 1 to 86400/],
    [['--page', join(dir, 'missing.html')], /--page: cannot read .*missing\.html: ENOENT/],
    [['--page', pageFile, '--render', pageFile], /--page and --render are the same option/]
  ]
  const spec = { status: 'string', refresh: 'string', page: 'string', render: 'string' } as const
  for (const [args, message] of cases) t.throws(() => buildPatch(parseArgs(args, spec), true), message, args.join(' '))
  t.throws(() => buildPatch(parseArgs(['--status', '500'], spec), false), /--status sets up a window/)
  const env = { DRAWBRIDGE_ADMIN_URL: 'http://127.0.0.1:9', DRAWBRIDGE_ADMIN_TOKEN: TOKEN }
  const res = await runDrawbridge(['maintenance', 'on', '--status', '200'], env)
  t.equal(res.code, 2, 'a usage error exits 2 before any request')
  t.match(res.stderr, /--status: "200" must be an HTTP status from 400 to 599/)

  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN, '--state-file', join(dir, 'state.json')])
  const patch = async (body: unknown): Promise<{ status: number, message: string }> => {
    const res = await request(`http://${gw.admin}/v1/maintenance`, { method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const json = await res.body.json() as { message: string }
    return { status: res.statusCode, message: json.message }
  }
  t.match(await patch({ status: 302 }), { status: 400, message: /status must be >= 400/ })
  t.match(await patch({ status: 600 }), { status: 400, message: /status must be <= 599/ })
  t.match(await patch({ refresh: 86401 }), { status: 400, message: /refresh must be <= 86400/ })
  t.match(await patch({ page: 'a\u0000b' }), { status: 400, message: /page must not contain control characters \(found U\+0000\)/ })
  t.match(await patch({ page: 'x'.repeat(262_145) }), { status: 400, message: /page must NOT have more than 262144 characters/ })
  t.match(await patch({ enabled: true, status: 429, page: '<p>{{message}}</p>\n\t' }), { status: 200 })
  const answer = await get(`http://${gw.gateway}/`)
  t.equal(answer.status, 429)
  t.match(answer.body, /^<p>We are performing/)
})
