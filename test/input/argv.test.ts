import t from 'tap'
import { ArgvError, tokenizeArgv, type OptionType } from '../../src/input/argv.js'
import { parseArgs } from '../../src/cli/args.js'
import { loadConfig } from '../../src/config/load.js'

const TYPES = new Map<string, OptionType>([['help', 'boolean'], ['name', 'string'], ['secret', 'optional-string'], ['allow', 'list'], ['json', 'boolean']])

t.test('values: inline, next word, negative numbers; lists add; last string wins', async (t) => {
  const { options, positionals } = tokenizeArgv(['on', '--name', 'a', '--name=b', '--allow', '10.0.0.0/8, 192.168.0.0/16', '--allow=::1', '--secret', '-5'], TYPES)
  t.same(Object.fromEntries(options), { name: 'b', allow: ['10.0.0.0/8', '192.168.0.0/16', '::1'], secret: true })
  t.same(positionals, ['on', '-5'], 'an optional value never takes a word starting with -')
  t.equal(tokenizeArgv(['--name', '-5'], TYPES).options.get('name'), '-5', 'a required value may start with a single dash')
})

t.test('-- ends the options; -h is --help only where help exists', async (t) => {
  t.same(tokenizeArgv(['--json', '--', '--name', 'x'], TYPES).positionals, ['--name', 'x'])
  t.equal(tokenizeArgv(['-h'], TYPES).options.get('help'), true)
  t.same(tokenizeArgv(['-h'], new Map()).positionals, ['-h'])
})

t.test('errors name the option, with a suggestion', async (t) => {
  t.throws(() => tokenizeArgv(['--nam', 'x'], TYPES), new ArgvError('--nam', 'unknown option (did you mean --name?)'))
  t.throws(() => tokenizeArgv(['--name'], TYPES), new ArgvError('--name', 'needs a value'))
  t.throws(() => tokenizeArgv(['--name', '--json'], TYPES), new ArgvError('--name', 'needs a value'))
  t.throws(() => tokenizeArgv(['--json=1'], TYPES), new ArgvError('--json', 'takes no value'))
})

t.test('serve and the client commands read one command line the same way', async (t) => {
  const argv = ['--upstream', 'http://127.0.0.1:1', '--trusted-proxies', '10.0.0.0/8', '--trusted-proxies=192.168.0.0/16']
  const config = loadConfig(argv, {})
  t.same(config.trustedProxies, ['10.0.0.0/8', '192.168.0.0/16'])
  t.same(parseArgs(argv, { upstream: 'string', 'trusted-proxies': 'list' }).options['trusted-proxies'], ['10.0.0.0/8', '192.168.0.0/16'])
  t.throws(() => loadConfig(['--upstream', 'http://127.0.0.1:1', '--upstream-timeout-ms', '-5'], {}), /must be at least 1/, 'a negative value reaches the schema')
})
