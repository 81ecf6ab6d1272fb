import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { findHelm } from '../../scripts/helm-binary.js'
import {
  CHART_DIR, EXAMPLES_DIR, helmTemplate, readCommittedExample, renderExamples, withSidecarDependency
} from '../../scripts/render-helm-examples.js'

// Renders the chart with a real Helm (the binary shipped by a dev dependency,
// see scripts/helm-binary.ts): lint, the failure messages, the shape of what
// each mode produces, and that the committed examples are a fresh render.

const execFileAsync = promisify(execFile)

interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string, labels?: Record<string, string> }
  spec?: any
  data?: Record<string, string>
}

function objects (yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null)
}

function find (objs: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objs.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
  if (found === undefined) throw new Error(`no ${kind} ${name ?? ''}`)
  return found
}

function envOf (container: any): Record<string, any> {
  return Object.fromEntries((container.env as any[]).map((e) => [e.name, e.value ?? e.valueFrom]))
}

const BASE = ['--set', 'upstream=http://shop:80', '--set', 'auth.adminToken=0123456789abcdef0123']

/** stderr of a `helm template` expected to fail ('' when it rendered). Async so the cases run side by side. */
async function renderError (helmBin: string, args: string[]): Promise<string> {
  try {
    await execFileAsync(helmBin, ['template', 'gate', CHART_DIR, ...args])
  } catch (err) {
    return String((err as { stderr: string }).stderr)
  }
  return ''
}

function run (helmBin: string): void {
  t.test('helm lint --strict passes for every example', async (t) => {
    const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.values.yaml'))
    const outs = await Promise.all(files.map(async (file) => (await execFileAsync(helmBin, ['lint', '--strict', CHART_DIR, '-f', join(EXAMPLES_DIR, file)])).stdout))
    files.forEach((file, i) => { t.match(outs[i], /0 chart\(s\) failed/, file) })
    withSidecarDependency((dir) => {
      t.match(execFileSync(helmBin, ['lint', '--strict', dir], { encoding: 'utf8' }), /0 chart\(s\) failed/, 'sidecar-app')
    })
  })

  t.test('the committed examples are what the chart renders now', async (t) => {
    for (const [name, text] of renderExamples(helmBin)) {
      t.same(objects(readCommittedExample(name)), objects(text), `${name} is up to date (npm run helm:examples)`)
    }
  })

  t.test('rendering fails with a clear message when a required value is missing', async (t) => {
    const [noUpstream, noToken, replicas, hpa, withRedis, badMode, shortToken] = await Promise.all([
      renderError(helmBin, ['--set', 'auth.adminToken=0123456789abcdef0123']),
      renderError(helmBin, ['--set', 'upstream=http://shop:80']),
      renderError(helmBin, [...BASE, '--set', 'replicaCount=3']),
      renderError(helmBin, [...BASE, '--set', 'autoscaling.enabled=true']),
      renderError(helmBin, [...BASE, '--set', 'replicaCount=3', '--set', 'redis.url=redis://redis:6379']),
      renderError(helmBin, [...BASE, '--set', 'mode=ingress']),
      renderError(helmBin, [...BASE, '--set', 'auth.readToken=short'])
    ])
    t.match(noUpstream, /upstream is required in standalone mode/)
    t.match(noToken, /set auth\.adminToken .* or auth\.existingSecret/)
    t.match(replicas, /redis\.url \(or redis\.existingSecret\) is required when replicaCount > 1 .*, or state\.url \(or state\.existingSecret\) for PostgreSQL/)
    t.match(hpa, /redis\.url .* is required/)
    t.equal(withRedis, '', 'renders with redis')
    t.match(badMode, /mode/, 'schema rejects an unknown mode')
    t.match(shortToken, /readToken/, 'schema rejects a short token')
  })

  t.test('standalone: deployment, services, secret, configmap, pdb; probes and shutdown timing', async (t) => {
    const objs = objects(helmTemplate(helmBin, 'gate', CHART_DIR, [...BASE, '--set', 'shutdown.preStopSleepSeconds=7', '--set', 'shutdown.drainTimeoutSeconds=25', '--set', 'shutdown.extraGraceSeconds=3']))
    t.same(objs.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Secret', 'Service', 'Service', 'ServiceAccount'])
    const deploy = find(objs, 'Deployment')
    const pod = deploy.spec.template.spec
    t.equal(deploy.spec.replicas, 1)
    t.equal(pod.terminationGracePeriodSeconds, 7 + 25 + 3, 'grace = preStop + drain + extra')
    const c = pod.containers[0]
    t.same(c.lifecycle.preStop.exec.command, ['sleep', '7'])
    const env = envOf(c)
    t.equal(env.DRAWBRIDGE_DRAIN_TIMEOUT_MS, '25000')
    t.equal(env.DRAWBRIDGE_UPSTREAM, 'http://shop:80')
    t.equal(env.DRAWBRIDGE_ADMIN_LISTEN, '0.0.0.0:9090')
    t.same(env.DRAWBRIDGE_ADMIN_TOKEN, { secretKeyRef: { name: 'gate-drawbridge', key: 'admin-token' } })
    t.equal(env.DRAWBRIDGE_STATE_FILE, '/var/lib/drawbridge/state.json', 'embedded store persisted in the pod without redis')
    t.same(c.startupProbe.httpGet, { path: '/readyz?exclude=store', port: 'admin' }, 'no traffic before a state is known (loaded, or cached)')
    t.same(c.livenessProbe.httpGet, { path: '/healthz', port: 'admin' })
    t.same(c.readinessProbe.httpGet, { path: '/healthz', port: 'admin' }, 'a pod that lost Redis keeps serving its last state')
    t.equal(c.readinessProbe.path, undefined, 'the chart-only key is not rendered')
    const strict = objects(helmTemplate(helmBin, 'gate', CHART_DIR, [...BASE, '--set', 'readinessProbe.path=/readyz']))
    t.same(find(strict, 'Deployment').spec.template.spec.containers[0].readinessProbe.httpGet, { path: '/readyz', port: 'admin' })
    t.equal(pod.securityContext.runAsNonRoot, true)
    const ports = new Set((c.ports as Array<{ name: string }>).map((p) => p.name))
    const gw = find(objs, 'Service', 'gate-drawbridge')
    const admin = find(objs, 'Service', 'gate-drawbridge-admin')
    t.ok(ports.has(gw.spec.ports[0].targetPort), 'gateway Service targets a container port')
    t.ok(ports.has(admin.spec.ports[0].targetPort), 'admin Service targets a container port')
    t.equal(admin.spec.type, 'ClusterIP')
    t.equal(Buffer.from(find(objs, 'Secret').data?.['admin-token'] ?? '', 'base64').toString(), '0123456789abcdef0123')
    t.same(gw.spec.selector, deploy.spec.selector.matchLabels)
  })

  t.test('standalone HA example: redis, no fixed replicas under an HPA, ingress, servicemonitor, page, network policy', async (t) => {
    const objs = objects(readCommittedExample('standalone-ha.yaml'))
    const deploy = find(objs, 'Deployment')
    t.equal(deploy.spec.replicas, undefined, 'the HPA owns the replica count')
    t.equal(find(objs, 'HorizontalPodAutoscaler').spec.scaleTargetRef.name, deploy.metadata.name)
    const env = envOf(deploy.spec.template.spec.containers[0])
    t.same(env.DRAWBRIDGE_REDIS_URL, { secretKeyRef: { name: 'shop-redis', key: 'url' } })
    t.equal(env.DRAWBRIDGE_PAGE, '/etc/drawbridge/maintenance.html')
    t.equal(env.DRAWBRIDGE_STATE_FILE, undefined)
    t.equal(env.DRAWBRIDGE_STATE_CACHE, '/var/cache/drawbridge/state.json', 'each pod keeps its last state')
    t.match(find(objs, 'ConfigMap').data?.['maintenance.html'], /closed for maintenance/)
    t.equal(find(objs, 'Ingress').spec.rules[0].http.paths[0].backend.service.name, 'gate-drawbridge')
    const sm = find(objs, 'ServiceMonitor')
    const admin = find(objs, 'Service', 'gate-drawbridge-admin')
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels as Record<string, string>)) t.equal(admin.metadata.labels?.[k], v, `ServiceMonitor selects the admin Service (${k})`)
    t.equal(sm.spec.endpoints[0].path, '/metrics')
    const config = Buffer.from(find(objs, 'Secret').data?.['drawbridge.yaml'] ?? '', 'base64').toString()
    t.match(config, /webhooks:/, 'config with webhook secrets lives in the Secret')
    t.equal(find(objs, 'ConfigMap').data?.['drawbridge.yaml'], undefined)
    t.ok(find(objs, 'NetworkPolicy'))
  })

  t.test('Redis over TLS with a private CA: the Secret mounted read-only, the CA (and client certificate) files set', async (t) => {
    const tlsArgs = [...BASE, '--set', 'replicaCount=2', '--set', 'redis.url=rediss://redis:6380', '--set', 'redisTls.existingSecret=redis-client-tls']
    const pod = find(objects(helmTemplate(helmBin, 'gate', CHART_DIR, tlsArgs)), 'Deployment').spec.template.spec
    const c = pod.containers[0]
    const env = envOf(c)
    t.equal(env.DRAWBRIDGE_REDIS_CA_FILE, '/etc/drawbridge/redis-tls/ca.crt')
    t.equal(env.DRAWBRIDGE_REDIS_CERT_FILE, undefined, 'no client certificate unless asked')
    const mount = (c.volumeMounts as Array<{ name: string, mountPath: string, readOnly?: boolean }>).find((m) => m.mountPath === '/etc/drawbridge/redis-tls')
    t.equal(mount?.readOnly, true)
    const volume = (pod.volumes as Array<{ name: string, secret?: { secretName: string, defaultMode: number } }>).find((v) => v.name === mount?.name)
    t.same(volume?.secret, { secretName: 'redis-client-tls', defaultMode: 0o400 })
    const mtls = envOf(find(objects(helmTemplate(helmBin, 'gate', CHART_DIR, [...tlsArgs, '--set', 'redisTls.clientCertificate=true'])), 'Deployment').spec.template.spec.containers[0])
    t.equal(mtls.DRAWBRIDGE_REDIS_CERT_FILE, '/etc/drawbridge/redis-tls/tls.crt')
    t.equal(mtls.DRAWBRIDGE_REDIS_KEY_FILE, '/etc/drawbridge/redis-tls/tls.key')
    const plain = envOf(find(objects(helmTemplate(helmBin, 'gate', CHART_DIR, [...BASE, '--set', 'redisTls.existingSecret=redis-client-tls'])), 'Deployment').spec.template.spec.containers[0])
    t.equal(plain.DRAWBRIDGE_REDIS_CA_FILE, undefined, 'without Redis the Secret is not used')
  })

  t.test('PostgreSQL store: the URL from the Secret, the schema, the state cache in an emptyDir; one shared store at a time', async (t) => {
    const pgArgs = [...BASE, '--set', 'replicaCount=3', '--set', 'state.url=postgres://gate:pw@db:5432/shop', '--set', 'state.schema=gate']
    const objs = objects(helmTemplate(helmBin, 'gate', CHART_DIR, pgArgs))
    const pod = find(objs, 'Deployment').spec.template.spec
    const c = pod.containers[0]
    const env = envOf(c)
    t.same(env.DRAWBRIDGE_STATE_URL, { secretKeyRef: { name: 'gate-drawbridge', key: 'state-url' } })
    t.equal(env.DRAWBRIDGE_STATE_SCHEMA, 'gate')
    t.equal(env.DRAWBRIDGE_REDIS_URL, undefined)
    t.equal(env.DRAWBRIDGE_STATE_FILE, undefined, 'no embedded store')
    t.equal(env.DRAWBRIDGE_STATE_CACHE, '/var/cache/drawbridge/state.json')
    t.equal(Buffer.from(find(objs, 'Secret').data?.['state-url'] ?? '', 'base64').toString(), 'postgres://gate:pw@db:5432/shop')
    const mount = (c.volumeMounts as Array<{ name: string, mountPath: string }>).find((m) => m.mountPath === '/var/cache/drawbridge')
    const volume = (pod.volumes as Array<{ name: string, emptyDir?: { sizeLimit?: string } }>).find((v) => v.name === mount?.name)
    t.same(volume?.emptyDir, { sizeLimit: '64Mi' }, 'the cache lives in an emptyDir of its own')

    const existing = objects(helmTemplate(helmBin, 'gate', CHART_DIR, [...BASE, '--set', 'state.existingSecret=shop-state', '--set', 'stateCache.enabled=false']))
    const existingEnv = envOf(find(existing, 'Deployment').spec.template.spec.containers[0])
    t.same(existingEnv.DRAWBRIDGE_STATE_URL, { secretKeyRef: { name: 'shop-state', key: 'state-url' } })
    t.equal(existingEnv.DRAWBRIDGE_STATE_CACHE, undefined, 'stateCache.enabled=false: no cache')
    const embedded = envOf(find(objects(helmTemplate(helmBin, 'gate', CHART_DIR, BASE)), 'Deployment').spec.template.spec.containers[0])
    t.equal(embedded.DRAWBRIDGE_STATE_CACHE, undefined, 'the embedded store keeps its state file instead')

    const [both, badSchema] = await Promise.all([
      renderError(helmBin, [...pgArgs, '--set', 'redis.url=redis://redis:6379']),
      renderError(helmBin, [...BASE, '--set', 'state.url=postgres://db/shop', '--set', 'state.schema=Gate'])
    ])
    t.match(both, /set redis\.\* or state\.\* \(PostgreSQL\), not both/)
    t.match(badSchema, /state\.schema/, 'the schema rejects a name the store refuses')
  })

  t.test('sidecar: the chart alone renders no workload; the include adds the container beside the app', async (t) => {
    const own = objects(readCommittedExample('sidecar.yaml'))
    t.same(own.map((o) => o.kind).sort(), ['ConfigMap', 'PodDisruptionBudget', 'PodMonitor', 'Secret', 'ServiceAccount'])
    const app = objects(readCommittedExample('sidecar-app.yaml'))
    const deploy = find(app, 'Deployment')
    const containers = deploy.spec.template.spec.containers as any[]
    t.same(containers.map((c) => c.name), ['app', 'drawbridge'])
    const db = containers[1]
    t.equal(envOf(db).DRAWBRIDGE_UPSTREAM, 'http://127.0.0.1:3000')
    t.equal(find(app, 'Service').spec.ports[0].targetPort, 'http')
    t.ok((db.ports as Array<{ name: string }>).some((p) => p.name === 'http'), 'the pod Service targets the gateway port')
    const volumes = new Set((deploy.spec.template.spec.volumes as Array<{ name: string }>).map((v) => v.name))
    for (const m of db.volumeMounts as Array<{ name: string }>) t.ok(volumes.has(m.name), `volume ${m.name} exists`)
    t.equal(deploy.spec.template.spec.terminationGracePeriodSeconds, 20)
    t.equal(find(app, 'ConfigMap').metadata.name, 'shop-drawbridge', 'the include and the subchart name the same ConfigMap')
    t.equal(deploy.spec.template.spec.volumes[0].projected.sources[0].configMap.name, 'shop-drawbridge')
  })

  t.test('sidecar include insists on redis when the pod has replicas', async (t) => {
    const err = withSidecarDependency((dir) => {
      try {
        execFileSync(helmBin, ['template', 'shop', dir, '--set', 'drawbridge.redis.existingSecret='], { stdio: 'pipe' })
        return ''
      } catch (e) {
        return String((e as { stderr: Buffer }).stderr)
      }
    })
    t.match(err, /redis\.url \(or redis\.existingSecret\) is required when the pod has more than one replica, or state\.url/)
  })
}

t.test('what the chart renders is a configuration Drawbridge accepts', async (t) => {
  const { loadConfig } = await import('../../src/config/load.js')
  const { SETTINGS } = await import('../../src/config/settings.js')
  const known = new Set([...SETTINGS.filter((s) => s.kind !== 'file-only').map((s) => s.env), 'DRAWBRIDGE_CONFIG'])
  // Stand-ins for values that come from Secrets.
  const fromSecret: Record<string, string> = {
    DRAWBRIDGE_ADMIN_TOKEN: 'secret-admin-token-0123456789',
    DRAWBRIDGE_READ_TOKEN: 'secret-read-token-0123456789',
    DRAWBRIDGE_REDIS_URL: 'redis://redis:6379/0',
    DRAWBRIDGE_DATABASE_URL: 'postgres://app@db:5432/app'
  }
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-chart-config-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  for (const name of ['standalone-minimal.yaml', 'standalone-ha.yaml', 'sidecar-app.yaml']) {
    const objs = objects(readCommittedExample(name))
    const pod = find(objs, 'Deployment').spec.template.spec
    const container = (pod.containers as any[]).find((c) => c.name === 'drawbridge')
    const env: Record<string, string> = {}
    for (const e of container.env as Array<{ name: string, value?: string }>) {
      t.ok(known.has(e.name), `${name}: ${e.name} is a Drawbridge setting`)
      env[e.name] = e.value ?? fromSecret[e.name] ?? ''
    }
    const cm = find(objs, 'ConfigMap').data?.['drawbridge.yaml']
    const secret = objs.find((o) => o.kind === 'Secret')?.data?.['drawbridge.yaml']
    const file = join(dir, `${name}.drawbridge.yaml`)
    writeFileSync(file, cm ?? Buffer.from(secret ?? '', 'base64').toString())
    env.DRAWBRIDGE_CONFIG = file
    const page = find(objs, 'ConfigMap').data?.['maintenance.html']
    if (env.DRAWBRIDGE_PAGE !== undefined) {
      // The pod reads it from the mounted ConfigMap; here, from a file with the same content.
      t.ok(page, `${name}: DRAWBRIDGE_PAGE points at a page the ConfigMap holds`)
      env.DRAWBRIDGE_PAGE = join(dir, `${name}.maintenance.html`)
      writeFileSync(env.DRAWBRIDGE_PAGE, page ?? '')
    }
    let config
    try {
      config = loadConfig([], env)
    } catch (err) {
      t.fail(`${name}: ${(err as Error).message}`)
      continue
    }
    t.equal(config.adminListen, '0.0.0.0:9090', `${name}: admin port`)
    t.equal(config.drainTimeoutMs, Number(env.DRAWBRIDGE_DRAIN_TIMEOUT_MS), `${name}: drain timeout`)
  }
})

// Last, so every constant above is initialised before a subtest starts.
const helm = findHelm()
if (helm === null) {
  t.fail('no helm binary: npm ci installs @aws-cdk/asset-kubectl-v20, which ships one (or set HELM_BIN)')
} else {
  run(helm)
}
