// What the bench scripts share about the Drawbridge they start: the admin
// token, how it is started, admin calls, the binary's V8 flags, and the headers it sends upstream.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { request } from 'undici'
import { startNode } from './processes.js'

export const token = 'bench-admin-token-0123456789'
/** The identity every bench request carries (the flags are evaluated for it). */
export const userHeader = { 'x-user-id': 'user-4242' }

const root = join(dirname(fileURLToPath(import.meta.url)), '../..')
const shebang = readFileSync(join(root, 'bin/drawbridge.js'), 'utf8').split('\n')[0] ?? ''
/** The V8 flags of the binary's shebang, to give a baseline the same settings. */
export const binaryFlags = shebang.split(' ').filter((word) => word.startsWith('--'))

/** `drawbridge serve` on free ports with the bench token, its own state file and `extra`. */
export function serveArgs (upstream, extra = []) {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-bench-'))
  return ['serve', '--upstream', upstream, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0',
    '--admin-token', token, '--state-file', join(dir, 'state.json'), '--log-level', 'warn', ...extra]
}

/**
 * Starts `drawbridge serve` (see serveArgs) for `upstream` (host:port). Without
 * `nodeArgs`, as users run it (npx, the Docker entrypoint): through its shebang
 * and its V8 flags; with them, as `node <nodeArgs> bin/drawbridge.js`, to compare
 * flags. Asked to stop with SIGTERM (it drains, then exits), so a --cpu-prof
 * among `nodeArgs` is written on exit.
 */
export async function startDrawbridge (upstream, extra = [], nodeArgs = undefined) {
  const bin = join(root, 'bin/drawbridge.js')
  const args = serveArgs(`http://${upstream}`, extra)
  const gw = nodeArgs === undefined ? await startNode(args, { command: bin }) : await startNode([...nodeArgs, bin, ...args])
  gw.stopSignal = 'SIGTERM'
  return gw
}

/** One admin API call; the parsed JSON answer (null when empty), or an error naming the call. */
export async function admin (gw, method, path, body) {
  const res = await request(`http://${gw.admin}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.body.text()
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`)
  return text === '' ? null : JSON.parse(text)
}

/**
 * The headers this gateway adds to a GET / from 127.0.0.1 with `headers`
 * (X-Forwarded-*, the flags header as explain renders it): `list` as
 * FLOOR_EXTRA_HEADERS takes it, so Node's floor can be made to send the same.
 */
export async function headersSentUpstream (gw, headers) {
  const explained = await admin(gw, 'POST', '/v1/explain', { method: 'GET', path: '/', ip: '127.0.0.1', headers })
  const flags = explained.flags.header
  return { flags, list: [['x-forwarded-for', '127.0.0.1'], ['x-forwarded-proto', 'http'], ['x-forwarded-host', gw.address], ['x-drawbridge-flags', flags]] }
}
