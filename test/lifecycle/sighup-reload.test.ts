import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { Agent, request } from 'undici'
import { startUpstream } from '../helpers/upstream.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'

const TOKEN = 'sighup-admin-token-0123456789abcd'

async function waitFor (check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what}`)
}

t.test('SIGHUP during traffic reloads the page template and the config file; no request fails, the process lives', async (t) => {
  const upstream = await startUpstream(t)
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-sighup-'))
  const page = join(dir, 'page.html')
  const config = join(dir, 'drawbridge.json')
  writeFileSync(page, '<h1>first {{message}}</h1>')
  writeFileSync(config, JSON.stringify({ page, adminToken: TOKEN }))
  const gw = await spawnGateway(t, ['--config', config, '--upstream', upstream.url])

  const res = await request(`http://${gw.admin}/v1/maintenance`, {
    method: 'PATCH', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ enabled: true, message: 'soon', exceptPaths: ['/pass'] })
  })
  t.equal(res.statusCode, 200)
  await res.body.dump()

  // Keep-alive traffic on both kinds of answer while signals arrive.
  const agent = new Agent({ connections: 8 })
  t.teardown(async () => { await agent.close() })
  const failures: string[] = []
  const bodies = new Set<string>()
  let served = 0
  const traffic$ = { running: true }
  const client = async (path: string): Promise<void> => {
    while (traffic$.running) {
      try {
        const r = await request(`http://${gw.gateway}${path}`, { dispatcher: agent, headers: { accept: 'text/html' } })
        const text = await r.body.text()
        if (path === '/pass' ? r.statusCode !== 200 : r.statusCode !== 503) failures.push(`${path}: ${r.statusCode}`)
        if (r.statusCode === 503) bodies.add(text)
        served++
      } catch (err) {
        failures.push(`${path}: ${(err as Error).message}`)
      }
    }
  }
  const traffic = Promise.all([client('/shop'), client('/shop'), client('/pass'), client('/pass')])

  await sleep(200)
  writeFileSync(page, '<h1>second {{message}}</h1>')
  gw.proc.kill('SIGHUP')
  await waitFor(() => [...bodies].some((b) => b.includes('second soon')), 'the new page')
  t.match(gw.logs(), /reloaded the maintenance page template/)

  // A page that cannot be read: logged, the previous one kept.
  rmSync(page)
  gw.proc.kill('SIGHUP')
  await waitFor(() => gw.logs().includes('keeping the previous page template'), 'the failed reload to be logged')

  // An invalid config file: logged, the running config kept.
  writeFileSync(page, '<h1>third {{message}}</h1>')
  writeFileSync(config, '{ not json')
  gw.proc.kill('SIGHUP')
  await waitFor(() => gw.logs().includes('the config is invalid now'), 'the invalid config to be logged')

  // The config names another page: it is applied; a changed setting that needs a restart is named, not its value.
  const other = join(dir, 'other.html')
  writeFileSync(other, '<h1>other {{message}}</h1>')
  writeFileSync(config, JSON.stringify({ page: other, adminToken: 'a-new-token-that-must-not-be-logged' }))
  gw.proc.kill('SIGHUP')
  await waitFor(() => [...bodies].some((b) => b.includes('other soon')), 'the page named by the re-read config')
  await waitFor(() => gw.logs().includes('take effect only after a restart'), 'the restart warning')
  t.match(gw.logs(), /"settings":\["adminToken"\]/)
  t.notMatch(gw.logs(), /a-new-token-that-must-not-be-logged/)

  // Traffic kept flowing after the last reload.
  const afterLast = served
  await waitFor(() => served > afterLast + 5, 'requests after the last reload')
  traffic$.running = false
  await traffic
  t.same(failures, [], `no request failed (${served} served)`)
  t.ok(served > 20, `${served} requests during the reloads`)
  t.equal(gw.proc.exitCode, null, 'still running')
  const health = await request(`http://${gw.admin}/healthz`)
  t.equal(health.statusCode, 200)
  await health.body.dump()
  t.equal(await gw.stop(), 0, 'and still drains cleanly on SIGTERM')
})
