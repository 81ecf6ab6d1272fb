import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Redis } from 'ioredis'
import type { Test } from 'tap'
import { baseArgs, client, freePort, run, startRedis, TcpProxy, until, type RedisProcess } from './redis-processes.js'

/** PEM files made with openssl in the test: a CA, a server and a client certificate it signs, and an unrelated CA. */
export interface TestCertificates {
  ca: string
  serverCert: string
  serverKey: string
  clientCert: string
  clientKey: string
  otherCa: string
}

/** EC keys (quick to make); the server certificate names 127.0.0.1 and localhost. */
export async function makeCertificates (dir: string): Promise<TestCertificates> {
  const f = (name: string): string => join(dir, name)
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  await run('openssl', ['req', '-x509', ...newKey, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=drawbridge test CA'])
  await run('openssl', ['req', '-x509', ...newKey, '-keyout', f('other-ca.key'), '-out', f('other-ca.crt'), '-days', '2', '-subj', '/CN=some other CA'])
  writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n')
  for (const [name, cn] of [['server', 'localhost'], ['client', 'drawbridge']] as const) {
    await run('openssl', ['req', ...newKey, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`])
    await run('openssl', ['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
      '-out', f(`${name}.crt`), '-days', '2', '-extfile', f(`${name}.ext`)])
  }
  return { ca: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key'), clientCert: f('client.crt'), clientKey: f('client.key'), otherCa: f('other-ca.crt') }
}

/** A TLS-only redis-server (`--port 0`): `authClients` makes it require a client certificate. */
export async function startTlsRedis (t: Test, dir: string, certs: TestCertificates, authClients: boolean): Promise<RedisProcess> {
  const port = await freePort()
  return await startRedis(t, port, [...baseArgs(0, dir), '--tls-port', String(port),
    '--tls-cert-file', certs.serverCert, '--tls-key-file', certs.serverKey, '--tls-ca-cert-file', certs.ca,
    '--tls-auth-clients', authClients ? 'yes' : 'no'])
}

export interface DataNode {
  /** The port clients and sentinels are given: the proxy's when there is one. */
  address: number
  server: RedisProcess
  proxy: TcpProxy | null
}

export interface SentinelSet {
  name: string
  sentinels: Array<{ host: string, port: number }>
  nodes: DataNode[]
  /** The node the sentinels name as master now. */
  master: () => Promise<DataNode>
  /** Resolves once every sentinel names the same master, knows the other sentinels, and sees a replica in sync. */
  settled: (timeoutMs?: number) => Promise<DataNode>
}

const SENTINEL_NAME = 'drawbridge-test'

/**
 * A primary, `replicas` replicas and three sentinels. With `proxies`, every
 * data node sits behind its own TcpProxy and announces the proxy's port, so
 * everyone (sentinels, replicas, clients) reaches it through the proxy and
 * `blackhole()` cuts it off from all of them at once.
 */
export async function startSentinelSet (t: Test, dir: string, options: { replicas: number, proxies: boolean, downAfterMs: number }): Promise<SentinelSet> {
  const nodes: DataNode[] = []
  for (let i = 0; i <= options.replicas; i++) {
    const port = await freePort()
    const proxy = options.proxies ? await TcpProxy.start(t, port) : null
    const address = proxy?.port ?? port
    const primary = nodes[0]
    const args = [...baseArgs(port, dir), '--dbfilename', `node-${port}.rdb`, '--repl-diskless-sync-delay', '0',
      '--replica-announce-ip', '127.0.0.1', '--replica-announce-port', String(address),
      ...(primary === undefined ? [] : ['--replicaof', '127.0.0.1', String(primary.address)])]
    nodes.push({ address, server: await startRedis(t, port, args), proxy })
  }
  const primary = await client(t, { port: (nodes[0] as DataNode).server.port })
  await until('replicas connected', async () => /connected_slaves:(\d+)/.exec(await primary.info('replication'))?.[1] === String(options.replicas))

  const sentinels: Array<{ host: string, port: number }> = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    const file = join(dir, `sentinel-${port}.conf`)
    writeFileSync(file, [
      `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
      `sentinel monitor ${SENTINEL_NAME} 127.0.0.1 ${(nodes[0] as DataNode).address} 2`,
      `sentinel down-after-milliseconds ${SENTINEL_NAME} ${options.downAfterMs}`,
      `sentinel failover-timeout ${SENTINEL_NAME} 5000`,
      // Every replica follows the new master at once, so the failover (and +switch-master) is not held up.
      `sentinel parallel-syncs ${SENTINEL_NAME} ${options.replicas}`, ''
    ].join('\n'))
    await startRedis(t, port, [file, '--sentinel'], /\+monitor master/)
    sentinels.push({ host: '127.0.0.1', port })
  }
  const asked: Redis[] = []
  for (const s of sentinels) asked.push(await client(t, { port: s.port }))

  const byAddress = (port: number): DataNode => {
    const node = nodes.find((n) => n.address === port)
    if (node === undefined) throw new Error(`the sentinels name an unknown node 127.0.0.1:${port}`)
    return node
  }
  const master = async (): Promise<DataNode> => {
    const [, port] = await (asked[0] as Redis).call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME) as [string, string]
    return byAddress(Number(port))
  }
  const direct = new Map<DataNode, Redis>()
  const roleOf = async (node: DataNode): Promise<unknown[]> => {
    let c = direct.get(node)
    if (c === undefined) {
      c = await client(t, { port: node.server.port, commandTimeout: 1000 })
      direct.set(node, c)
    }
    return await c.call('ROLE') as unknown[]
  }
  // The sentinels' view of a replica's link is refreshed only every 10 s (1 s
  // while its master is down), so whether a replica follows the master is
  // asked of the replica itself.
  const follows = async (replica: DataNode, primary: DataNode): Promise<boolean> => {
    try {
      const [role, , port, state] = await roleOf(replica)
      return role === 'slave' && Number(port) === primary.address && state === 'connected'
    } catch {
      return false
    }
  }
  const settled = async (timeoutMs = 20_000): Promise<DataNode> => {
    let named: DataNode | null = null
    await until('sentinels settled', async () => {
      const answers = await Promise.all(asked.map(async (s) => {
        const [, port] = await s.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_NAME) as [string, string]
        const info = fields(await s.call('SENTINEL', 'MASTER', SENTINEL_NAME) as string[])
        const replicas = (await s.call('SENTINEL', 'REPLICAS', SENTINEL_NAME) as string[][]).map(fields)
        const candidates = replicas.filter((r) => r.flags === 'slave').map((r) => Number(r.port))
        return { port: Number(port), candidates, ok: info.flags === 'master' && info['num-other-sentinels'] === '2' }
      }))
      const first = answers[0]
      if (first === undefined || !answers.every((a) => a.ok && a.port === first.port)) return false
      const primary = byAddress(first.port)
      if ((await roleOf(primary))[0] !== 'master') return false
      // A replica every sentinel would pick, that really follows the master.
      const eligible = first.candidates.filter((port) => answers.every((a) => a.candidates.includes(port))).map(byAddress)
      for (const replica of eligible) {
        if (await follows(replica, primary)) {
          named = primary
          return true
        }
      }
      return false
    }, timeoutMs, 200)
    return named as unknown as DataNode
  }
  return { name: SENTINEL_NAME, sentinels, nodes, master, settled }
}

/** ['flags', 'master', 'port', '6379'] → { flags: 'master', port: '6379' } */
function fields (pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i + 1 < pairs.length; i += 2) out[pairs[i] as string] = pairs[i + 1] as string
  return out
}

/** Three primaries, no replicas, every slot assigned (`redis-cli --cluster create`). */
export async function startCluster (t: Test, dir: string): Promise<Array<{ host: string, port: number }>> {
  const nodes: Array<{ host: string, port: number }> = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    await startRedis(t, port, [...baseArgs(port, dir), '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000'])
    nodes.push({ host: '127.0.0.1', port })
  }
  await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'])
  for (const node of nodes) {
    const c = await client(t, { port: node.port })
    await until(`cluster ok on ${node.port}`, async () => (await c.call('CLUSTER', 'INFO') as string).includes('cluster_state:ok'))
  }
  return nodes
}
