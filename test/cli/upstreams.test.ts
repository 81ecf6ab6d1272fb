import t from 'tap'
import { runDrawbridge } from '../helpers/spawn-gateway.js'
import { parseDuration } from '../../src/cli/maintenance-window.js'
import { parseRoutingCommand } from '../../src/cli/upstreams-input.js'
import { gatewayFor, hit, namedUpstream, sleep, TOKEN, upstreamsView, waitFor, type Route } from '../upstreams/helpers.js'

// `drawbridge upstreams|switch|canary|pause|resume` through the real binary, against a real gateway with two real upstreams.

t.setTimeout(180_000)

/** `/in-flight` answers only when the test calls releaseHeld(): in flight for as long as the test needs, however slow the machine. */
const held: Array<() => void> = []
function releaseHeld (): void { for (const answer of held.splice(0)) answer() }
const holding: Route = (req, res, name) => {
  if (req.url !== '/in-flight') return false
  held.push(() => { res.writeHead(200, { 'x-upstream': name }); res.end(name) })
  return true
}

const blue = await namedUpstream(t, 'blue', { route: holding })
const green = await namedUpstream(t, 'green', { route: holding })
const gw = await gatewayFor(t, [blue, green])
const env = { DRAWBRIDGE_ADMIN_URL: `http://${gw.admin}`, DRAWBRIDGE_ADMIN_TOKEN: TOKEN }
const cli = async (...args: string[]): ReturnType<typeof runDrawbridge> => await runDrawbridge(args, env)

async function inFlight (name: string): Promise<number> {
  return (await upstreamsView(gw)).upstreams.find((u) => u.name === name)?.inFlight ?? -1
}

t.test('upstreams: a table by default, the API body with --json', async (t) => {
  const text = await cli('upstreams')
  t.equal(text.code, 0, text.stderr)
  const [header, first, second] = text.stdout.split('\n')
  t.match(header, /^NAME\s+URL\s+HEALTH\s+IN FLIGHT\s+ROUTE$/)
  t.match(first, new RegExp(`^blue\\s+${blue.url}\\s+(healthy|unknown)\\b.*\\s0\\s+active$`))
  t.match(second, new RegExp(`^green\\s+${green.url}\\s+(healthy|unknown)\\b.*\\s0\\s+-$`))
  t.match(text.stdout, /\nTraffic flows \(a pause would hold each request up to 30s\)\n/)
  t.match(text.stdout, /Routing updated never/)

  const json = await cli('upstreams', '--json')
  t.equal(json.code, 0, json.stderr)
  t.match(JSON.parse(json.stdout), {
    upstreams: [{ name: 'blue', url: blue.url, inFlight: 0 }, { name: 'green', url: green.url, inFlight: 0 }],
    routing: { active: 'blue', canary: null, paused: false, pauseMaxMs: 30000 },
    held: 0
  })
})

t.test('switch: says when the old side drained; new requests go to the new side', async (t) => {
  const pending = hit(gw, '/in-flight', { timeoutMs: 30_000 })
  t.ok(await waitFor(async () => await inFlight('blue') === 1, 5000), 'a request is in flight on blue')
  const switching = cli('switch', 'green')
  // The request ends only once the switch has been made and 300 ms have passed, however long the CLI took to start.
  t.ok(await waitFor(async () => (await upstreamsView(gw)).routing.active === 'green', 15_000), 'the switch is made while the request is in flight')
  await sleep(300)
  releaseHeld()
  const sw = await switching
  t.equal(sw.code, 0, sw.stderr)
  const drained = /^switched to green \(was blue\); blue drained in (\d+\.\d) s\n$/.exec(sw.stdout)
  t.ok(drained, sw.stdout)
  t.ok(Number(drained?.[1]) >= 0.2, 'it waited for the request in flight')
  const finished = await pending
  t.equal(finished.upstream, 'blue', 'the request in flight finished where it started')
  t.equal(finished.status, 200)
  t.equal((await hit(gw, '/after')).upstream, 'green', 'new requests go to green')

  const again = await cli('switch', 'green')
  t.equal(again.code, 0)
  t.equal(again.stdout, 'green is already active; nothing to switch\n')

  // Not drained within --drain-timeout: said so, and the switch stands.
  const long = hit(gw, '/in-flight', { timeoutMs: 30_000 })
  t.ok(await waitFor(async () => await inFlight('green') === 1, 5000))
  const json = await cli('switch', 'blue', '--drain-timeout', '300ms', '--json')
  releaseHeld()
  t.equal(json.code, 0, json.stderr)
  const body = JSON.parse(json.stdout) as { drainMs: number }
  t.match(body, { routing: { active: 'blue' }, previous: 'green', drained: false, inFlight: 1 })
  t.ok(body.drainMs >= 300 && body.drainMs < 2000, `gave up after --drain-timeout (${body.drainMs} ms)`)
  t.equal((await long).upstream, 'green', 'and the slow request still finished on green')

  // As above: still in flight when a CLI process started on a loaded machine polls.
  const text = hit(gw, '/in-flight', { timeoutMs: 30_000 })
  t.ok(await waitFor(async () => await inFlight('blue') === 1, 5000))
  const timedOut = await cli('switch', 'green', '--drain-timeout', '200ms')
  releaseHeld()
  t.match(timedOut.stdout, /^switched to green \(was blue\); blue still has 1 request in flight after 0\.2 s/)
  await text
})

t.test('switch to a stopped upstream: 409 with the server message and a --force hint; --force switches', async (t) => {
  t.equal((await upstreamsView(gw)).routing.active, 'green')
  await blue.stop()
  t.teardown(async () => { await blue.restart() })
  const refused = await cli('switch', 'blue')
  t.equal(refused.code, 1)
  t.equal(refused.stdout, '')
  t.match(refused.stderr, /^drawbridge: Upstream blue failed its health check: .*\(HTTP 409, DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY\); add --force to route to it anyway\n$/)
  t.equal((await upstreamsView(gw)).routing.active, 'green', 'nothing changed')

  const canary = await cli('canary', 'blue', '10')
  t.equal(canary.code, 1, 'a canary to it is refused too')
  t.match(canary.stderr, /DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY\); add --force/)

  const forced = await cli('switch', 'blue', '--force', '--drain-timeout', '0s')
  t.equal(forced.code, 0, forced.stderr)
  t.match(forced.stdout, /^switched to blue \(was green\); green drained in/)
  t.equal((await hit(gw, '/')).status, 502, 'traffic goes to blue, which is down')

  await blue.restart()
  const back = await cli('switch', 'green')
  t.equal(back.code, 0, back.stderr)
})

t.test('canary 30, then off', async (t) => {
  const on = await cli('canary', 'blue', '30')
  t.equal(on.code, 0, on.stderr)
  t.equal(on.stdout, 'canary: 30% of identities go to blue, the rest to green (was: none)\n')
  const table = await cli('upstreams')
  t.match(table.stdout, /\nblue\s.*\s+canary 30%\n/)
  t.match(table.stdout, /\ngreen\s.*\s+active \(70%\)\n/)
  t.match((await upstreamsView(gw)).routing, { active: 'green', canary: { upstream: 'blue', percentage: 30 } })

  const off = await cli('canary', 'off', '--json')
  t.equal(off.code, 0, off.stderr)
  t.match(JSON.parse(off.stdout), { active: 'green', canary: null })
  t.equal((await hit(gw, '/')).upstream, 'green')

  const invalid = await cli('canary', 'green', '10')
  t.equal(invalid.code, 1, 'a canary to the active upstream is the server\'s 400')
  t.match(invalid.stderr, /"green" is the active upstream.*HTTP 400, DRAWBRIDGE_ERR_INVALID/)
  const unknown = await cli('switch', 'purple')
  t.equal(unknown.code, 1)
  t.match(unknown.stderr, /no upstream named "purple" \(configured: blue, green\).*HTTP 400/)
})

t.test('pause holds requests; resume lets them through', async (t) => {
  const pause = await cli('pause', '--max', '20s')
  t.equal(pause.code, 0, pause.stderr)
  t.match(pause.stdout, /^Traffic is PAUSED: new requests are held up to 20s each/)
  const held = hit(gw, '/held', { timeoutMs: 15_000 })
  t.ok(await waitFor(async () => (await upstreamsView(gw)).held === 1, 5000), 'the request is held')
  const table = await cli('upstreams')
  t.match(table.stdout, /Traffic is PAUSED.*; 1 held by the replica that answered/)
  await sleep(200)
  t.notOk(green.arrivals.some((a) => a.url === '/held'), 'not forwarded while paused')

  const resume = await cli('resume')
  t.equal(resume.code, 0, resume.stderr)
  t.equal(resume.stdout, 'Resumed: traffic flows to green (1 held request goes on, in arrival order)\n')
  const answer = await held
  t.equal(answer.status, 200)
  t.equal(answer.upstream, 'green')
  t.match((await upstreamsView(gw)).routing, { paused: false, pauseMaxMs: 20000 })
  t.equal((await cli('resume')).stdout, 'Was not paused: traffic flows to green\n')
})

t.test('bad command lines exit 2 naming the option, before any request', async (t) => {
  const [percent, missing, unknown, max, offForce] = await Promise.all([
    cli('canary', 'blue', '150'),
    cli('switch'),
    cli('switch', 'blue', '--drain-timout', '5s'),
    cli('pause', '--max', '30'),
    cli('canary', 'off', '--force')
  ])
  t.equal(percent.code, 2)
  t.equal(percent.stderr, 'drawbridge: canary: PERCENT "150" must be a number from 0 to 100\n')
  t.equal(missing.code, 2)
  t.match(missing.stderr, /switch: missing NAME/)
  t.equal(unknown.code, 2)
  t.equal(unknown.stderr, 'drawbridge: --drain-timout: unknown option (did you mean --drain-timeout?)\n')
  t.equal(max.code, 2)
  t.match(max.stderr, /--max: "30" is not a duration/)
  t.equal(offForce.code, 2)
  const help = await cli('switch', '--help')
  t.equal(help.code, 0)
  t.match(help.stdout, /^Usage: drawbridge upstreams/)
  t.match((await runDrawbridge(['--help'])).stdout, /switch NAME/)
  t.equal((await upstreamsView(gw)).routing.active, 'green', 'none of them changed anything')
})

t.test('argument checks, in process', async (t) => {
  const usage = (command: Parameters<typeof parseRoutingCommand>[0], args: string[], message: RegExp): void => {
    t.throws(() => parseRoutingCommand(command, args), { name: 'UsageError', message }, `${command} ${args.join(' ')}`)
  }
  usage('canary', ['blue'], /^canary: missing PERCENT/)
  usage('canary', ['blue', '-1'], /PERCENT "-1" must be a number from 0 to 100/)
  usage('canary', ['blue', '10', 'extra'], /unexpected argument "extra"/)
  usage('canary', ['blue', 'ten'], /PERCENT "ten"/)
  usage('canary', [], /missing NAME/)
  usage('switch', ['blue', 'green'], /unexpected argument "green"/)
  usage('switch', ['no/such'], /"no\/such" is not an upstream name/)
  usage('switch', ['blue', '--drain-timeout', 'soon'], /--drain-timeout: "soon" is not a duration/)
  usage('switch', ['blue', '--max', '3s'], /--max: unknown option/)
  usage('pause', ['--max', '0ms'], /--max: 0ms is out of range \(1ms to 10m\)/)
  usage('pause', ['now'], /unexpected argument "now"/)
  usage('resume', ['--force'], /^--force: unknown option/)
  usage('upstreams', ['blue'], /unexpected argument "blue"/)

  t.match(parseRoutingCommand('canary', ['green', '12.5%', '--force']).patch, { canary: { upstream: 'green', percentage: 12.5 }, force: true })
  t.same(parseRoutingCommand('canary', ['off']).patch, { canary: null })
  t.same(parseRoutingCommand('canary', ['off', '5']).patch, { canary: { upstream: 'off', percentage: 5 } }, 'an upstream may be named off')
  t.same(parseRoutingCommand('switch', ['green']).patch, { active: 'green' })
  t.equal(parseRoutingCommand('switch', ['green']).drainTimeoutMs, 30_000)
  t.equal(parseRoutingCommand('switch', ['green', '--drain-timeout=2m']).drainTimeoutMs, 120_000)
  t.same(parseRoutingCommand('pause', []).patch, { paused: true }, 'without --max the stored limit stays')
  t.same(parseRoutingCommand('pause', ['--max', '10m']).patch, { paused: true, pauseMaxMs: 600_000 })
  t.same(parseRoutingCommand('resume', []).patch, { paused: false })
  t.equal(parseDuration('1500ms', 'x'), 1500)
  t.equal(parseDuration('5min', 'x'), 300_000)
})
