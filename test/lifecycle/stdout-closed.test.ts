import t from 'tap'
import { startUpstream } from '../helpers/upstream.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'

// `drawbridge serve | head`, or a log shipper that died: writes to stdout fail
// with EPIPE. The gateway must still stop on SIGTERM (pino's exit-time flush
// used to retry the broken pipe forever).
t.test('SIGTERM still stops the gateway after its stdout reader went away', async (t) => {
  const upstream = await startUpstream(t)
  const gw = await spawnGateway(t, ['--upstream', upstream.url, '--log-level', 'info'])
  gw.proc.stdout?.destroy()
  const started = Date.now()
  const code = await gw.stop('SIGTERM')
  t.ok(Date.now() - started < 10_000, `stopped in ${Date.now() - started} ms`)
  t.equal(code, 0, 'exit code 0')
})
