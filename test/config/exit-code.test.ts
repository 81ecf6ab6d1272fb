import { createServer, type Server } from 'node:net'
import t, { type Test } from 'tap'
import { runDrawbridge, type CliResult } from '../helpers/spawn-gateway.js'

/**
 * Bad configuration stops the real binary before it serves: exit 2, one line
 * on stderr naming the setting as the user gave it. The runs start together
 * (each is a process start-up) and the tests below check their results.
 */

async function occupiedPort (): Promise<number> {
  const server: Server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return (server.address() as { port: number }).port
}

const LOOPBACK = ['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']
const UP = ['--upstream', 'http://127.0.0.1:9']
const gatewayPort = await occupiedPort()
const adminPort = await occupiedPort()

const runs: Record<string, Promise<CliResult>> = {
  missingUpstream: runDrawbridge(['serve', ...LOOPBACK]),
  badUrl: runDrawbridge(['serve', ...LOOPBACK], { DRAWBRIDGE_UPSTREAM: 'ftp://files.example' }),
  badCidr: runDrawbridge([...LOOPBACK, ...UP, '--trusted-proxies', '10.0.0.0/8,300.0.0.0/8']),
  openAdmin: runDrawbridge(['serve', ...UP, '--listen', '127.0.0.1:0', '--admin-listen', '0.0.0.0:0']),
  gatewayInUse: runDrawbridge(['serve', ...UP, '--admin-listen', '127.0.0.1:0'], { DRAWBRIDGE_LISTEN: `127.0.0.1:${gatewayPort}` }),
  adminInUse: runDrawbridge(['serve', ...UP, '--listen', '127.0.0.1:0', '--admin-listen', `127.0.0.1:${adminPort}`]),
  unknownCommand: runDrawbridge(['maintenence'])
}

async function expectOneLine (t: Test, run: Promise<CliResult>, line: RegExp): Promise<void> {
  const result = await run
  t.equal(result.code, 2, 'exit code 2')
  const lines = result.stderr.split('\n').filter((l) => l !== '')
  t.equal(lines.length, 1, `one line on stderr: ${result.stderr}`)
  t.match(lines[0], line)
}

t.test('missing upstream', async (t) => {
  await expectOneLine(t, runs.missingUpstream as Promise<CliResult>, /^drawbridge: --upstream: is required/)
})

t.test('bad upstream URL, named as the env variable it came from', async (t) => {
  await expectOneLine(t, runs.badUrl as Promise<CliResult>, /^drawbridge: DRAWBRIDGE_UPSTREAM: "ftp:\/\/files\.example" must use http or https/)
})

t.test('bad CIDR (settings without the serve command)', async (t) => {
  await expectOneLine(t, runs.badCidr as Promise<CliResult>, /^drawbridge: --trusted-proxies: invalid CIDR "300\.0\.0\.0\/8"/)
})

t.test('admin on a non-loopback address without a token', async (t) => {
  await expectOneLine(t, runs.openAdmin as Promise<CliResult>, /^drawbridge: --admin-listen: 0\.0\.0\.0:0 is not a loopback address/)
})

t.test('gateway port in use', async (t) => {
  await expectOneLine(t, runs.gatewayInUse as Promise<CliResult>, new RegExp(`^drawbridge: DRAWBRIDGE_LISTEN: 127\\.0\\.0\\.1:${gatewayPort} is already in use$`))
})

t.test('admin port in use', async (t) => {
  await expectOneLine(t, runs.adminInUse as Promise<CliResult>, new RegExp(`^drawbridge: --admin-listen: 127\\.0\\.0\\.1:${adminPort} is already in use$`))
})

t.test('unknown command', async (t) => {
  await expectOneLine(t, runs.unknownCommand as Promise<CliResult>, /^drawbridge: unknown command "maintenence" \(did you mean maintenance\?\)/)
})

t.test('help and version exit 0', async (t) => {
  const [help, serveHelp, version] = await Promise.all([runDrawbridge(['--help']), runDrawbridge(['serve', '--help']), runDrawbridge(['--version'])])
  t.equal(help.code, 0)
  t.match(help.stdout, /maintenance on\|off\|status/)
  t.equal(serveHelp.code, 0)
  t.match(serveHelp.stdout, /--admin-listen \(DRAWBRIDGE_ADMIN_LISTEN\) \[default: 127\.0\.0\.1:9090\]/)
  t.match(version.stdout, /^drawbridge \d+\.\d+\.\d+/)
})
