import t from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { runDrawbridge, spawnGateway } from '../helpers/spawn-gateway.js'

const TOKEN = 'cli-lists-admin-token-0123456789'

t.test('maintenance allow|except add|remove edit single entries through the real binary', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--admin-token', TOKEN])
  const env = { DRAWBRIDGE_ADMIN_URL: `http://${gw.admin}`, DRAWBRIDGE_ADMIN_TOKEN: TOKEN }

  // Concurrent CLI runs: each adds one CIDR, none is lost.
  const wanted = Array.from({ length: 10 }, (_, i) => `10.${i}.0.0/16`)
  const runs = await Promise.all(wanted.map(async (cidr) => await runDrawbridge(['maintenance', 'allow', 'add', cidr], env)))
  for (const run of runs) t.equal(run.code, 0, run.stderr)
  const status = await runDrawbridge(['maintenance', 'status', '--json'], env)
  t.same([...(JSON.parse(status.stdout) as { allow: string[] }).allow].sort(), [...wanted].sort())

  const removed = await runDrawbridge(['maintenance', 'allow', 'remove', '10.0.0.0/16', '10.1.0.0/16'], env)
  t.equal(removed.code, 0, removed.stderr)
  t.match(removed.stdout, /^allow: (10\.[2-9]\.0\.0\/16(, )?){8}\n$/)
  t.notMatch(removed.stdout, /10\.0\.0\.0\/16|10\.1\.0\.0\/16/)

  const except = await runDrawbridge(['maintenance', 'except', 'add', '/healthz', '/webhooks', '--json'], env)
  t.equal(except.code, 0, except.stderr)
  t.same((JSON.parse(except.stdout) as { exceptPaths: string[] }).exceptPaths, ['/healthz', '/webhooks'])
  const exceptRemoved = await runDrawbridge(['maintenance', 'except', 'remove', '/healthz'], env)
  t.equal(exceptRemoved.stdout, 'exceptPaths: /webhooks\n')

  const help = await runDrawbridge(['maintenance', '--help'], env)
  t.match(help.stdout, /maintenance allow\|except\|paths add\|remove VALUE/)
  t.match(help.stdout, /drawbridge maintenance allow add 10\.0\.0\.0\/8/)

  // Bad input: exit 2, one line, nothing sent.
  const bad: Array<[string[], RegExp]> = [
    [['maintenance', 'allow', 'add', '10.0.0.0/33'], /maintenance allow add: .*10\.0\.0\.0\/33/],
    [['maintenance', 'allow', 'add', 'not-an-ip'], /maintenance allow add: /],
    [['maintenance', 'allow', 'add'], /give at least one CIDR/],
    [['maintenance', 'allow', 'insert', '10.0.0.0/8'], /expected add or remove \(got "insert"\)/],
    [['maintenance', 'allow'], /expected add or remove/],
    [['maintenance', 'except', 'add', 'healthz'], /"healthz" is not a path/]
  ]
  for (const [args, message] of bad) {
    const run = await runDrawbridge(args, env)
    t.equal(run.code, 2, args.join(' '))
    t.match(run.stderr, message, args.join(' '))
  }
  const after = await runDrawbridge(['maintenance', 'status', '--json'], env)
  t.equal((JSON.parse(after.stdout) as { allow: string[] }).allow.length, 8, 'bad input changed nothing')
})
