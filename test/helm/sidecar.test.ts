import { execFile } from 'node:child_process'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parse, parseAllDocuments } from 'yaml'
import { findHelm } from '../../scripts/helm-binary.js'
import { CHART_DIR, helmTemplate, readCommittedExample, withSidecarDependency } from '../../scripts/render-helm-examples.js'

// Sidecar mode with a real Helm: the PodMonitor and PDB select the
// application's pods, the ServiceAccount has no token, the native sidecar
// option, the example app's shutdown and securityContext, the NOTES warnings.

const execFileAsync = promisify(execFile)

interface K8sObject { apiVersion: string, kind: string, metadata: { name: string, labels?: Record<string, string> }, spec?: any, [k: string]: any }

function objects (text: string): K8sObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject | null).filter((o): o is K8sObject => o !== null)
}

function find (objs: K8sObject[], kind: string): K8sObject {
  const found = objs.find((o) => o.kind === kind)
  if (found === undefined) throw new Error(`no ${kind} in ${objs.map((o) => o.kind).join(', ')}`)
  return found
}

function selects (selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v)
}

const SIDECAR = ['--set', 'mode=sidecar', '--set', 'auth.adminToken=0123456789abcdef0123']

async function renderError (helm: string, chart: string, args: string[]): Promise<string> {
  try {
    await execFileAsync(helm, ['template', 'shop', chart, ...args])
  } catch (err) {
    return String((err as { stderr: string }).stderr)
  }
  return ''
}

/** NOTES.txt rendered with the given values (helm template does not print NOTES; helm 3.8 install --dry-run needs a cluster). */
function notes (helm: string, args: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-notes-'))
  try {
    cpSync(CHART_DIR, join(dir, 'drawbridge'), { recursive: true })
    cpSync(join(CHART_DIR, 'templates', 'NOTES.txt'), join(dir, 'drawbridge', 'notes.txt'))
    writeFileSync(join(dir, 'drawbridge', 'templates', 'zz-notes.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n')
    const out = helmTemplate(helm, 'shop', join(dir, 'drawbridge'), [...args, '--show-only', 'templates/zz-notes.yaml'])
    return (parse(out) as { data: { notes: string } }).data.notes
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function run (helm: string): void {
  t.test('the example app: PodMonitor and PDB select its pods; its pod runs under the tokenless ServiceAccount', async (t) => {
    const objs = objects(readCommittedExample('sidecar-app.yaml'))
    const deploy = find(objs, 'Deployment')
    const podLabels = deploy.spec.template.metadata.labels as Record<string, string>
    const pm = find(objs, 'PodMonitor')
    t.ok(selects(pm.spec.selector.matchLabels, podLabels), 'PodMonitor selects the app pods (templated podSelector)')
    t.same(pm.spec.podMetricsEndpoints, [{ port: 'admin', path: '/metrics', interval: '30s', scrapeTimeout: '10s' }])
    const drawbridge = (deploy.spec.template.spec.containers as any[]).find((c) => c.name === 'drawbridge')
    t.ok((drawbridge.ports as Array<{ name: string }>).some((p) => p.name === pm.spec.podMetricsEndpoints[0].port), 'the scraped port is a container port of the pod')
    t.equal(pm.metadata.labels?.release, 'prometheus', 'serviceMonitor.labels reach the PodMonitor')
    const pdb = find(objs, 'PodDisruptionBudget')
    t.ok(selects(pdb.spec.selector.matchLabels, podLabels), 'PDB selects the app pods')
    t.equal(pdb.spec.maxUnavailable, 1)
    const sa = find(objs, 'ServiceAccount')
    t.equal(sa.automountServiceAccountToken, false)
    const pod = deploy.spec.template.spec
    t.equal(pod.serviceAccountName, sa.metadata.name, 'the pod uses the chart\'s ServiceAccount')
    t.equal(pod.automountServiceAccountToken, false)
    t.ok(find(objs, 'PrometheusRule'))
  })

  t.test('the example app container: preStop outlasts Drawbridge\'s sleep and drain, and a restrictive securityContext', async (t) => {
    const deploy = find(objects(readCommittedExample('sidecar-app.yaml')), 'Deployment')
    const pod = deploy.spec.template.spec
    const [app, drawbridge] = pod.containers as any[]
    t.equal(app.name, 'app')
    const appSleep = Number(app.lifecycle.preStop.exec.command[1])
    const dbSleep = Number(drawbridge.lifecycle.preStop.exec.command[1])
    const drain = Number(drawbridge.env.find((e: { name: string }) => e.name === 'DRAWBRIDGE_DRAIN_TIMEOUT_MS').value) / 1000
    t.same(app.lifecycle.preStop.exec.command[0], 'sleep')
    t.equal(appSleep, dbSleep + drain, 'the app stays while Drawbridge sleeps and drains')
    t.ok(appSleep < pod.terminationGracePeriodSeconds, 'and fits in the grace period')
    t.same(app.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
    t.equal(pod.securityContext.runAsNonRoot, true)
    t.equal(pod.initContainers, undefined, 'no initContainers key without native')
  })

  t.test('native sidecar: an init container with restartPolicy Always, only on Kubernetes >= 1.29', async (t) => {
    withSidecarDependency((dir) => {
      const objs = objects(helmTemplate(helm, 'shop', dir, ['--set', 'drawbridge.sidecar.native=true', '--kube-version', '1.29.0']))
      const pod = find(objs, 'Deployment').spec.template.spec
      t.same((pod.containers as any[]).map((c) => c.name), ['app'], 'not among the regular containers')
      t.same((pod.initContainers as any[]).map((c) => c.name), ['drawbridge'])
      const init = pod.initContainers[0]
      t.equal(init.restartPolicy, 'Always')
      t.same(init.startupProbe.httpGet, { path: '/readyz?exclude=store', port: 'admin' }, 'the app starts once Drawbridge has its state (loaded, or cached)')
      t.equal(init.env.find((e: { name: string }) => e.name === 'DRAWBRIDGE_UPSTREAM').value, 'http://127.0.0.1:3000')
      // The app sleeps 5 + 10 s, exits, then Drawbridge gets its own preStop (5 s) and SIGTERM: 5 + 10 + 5 + 5 extra.
      t.equal(pod.terminationGracePeriodSeconds, 25, 'the native sidecar\'s own preStop comes after the app\'s')
      t.same(pod.containers[0].lifecycle.preStop.exec.command, ['sleep', '15'])
      const plain = find(objects(helmTemplate(helm, 'shop', dir, ['--kube-version', '1.29.0'])), 'Deployment').spec.template.spec
      t.equal(plain.terminationGracePeriodSeconds, 20)
      t.equal(plain.containers[1].restartPolicy, undefined, 'a regular container has no restartPolicy')
    })
  })

  t.test('native sidecar refuses a cluster older than 1.29', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-native-'))
    t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
    withSidecarDependency((src) => { cpSync(src, dir, { recursive: true }) })
    const err = await renderError(helm, dir, ['--set', 'drawbridge.sidecar.native=true', '--kube-version', '1.28.5'])
    t.match(err, /sidecar\.native needs Kubernetes >= 1\.29 .*this cluster is v1\.28\.5/)
    t.equal(await renderError(helm, dir, ['--set', 'drawbridge.sidecar.native=true', '--kube-version', 'v1.30.2-eks-1552ad0']), '', 'a vendor suffix is fine')
  })

  t.test('sidecar mode: serviceMonitor.enabled without sidecar.podSelector fails with a clear message', async (t) => {
    const [noSelector, withSelector] = await Promise.all([
      renderError(helm, CHART_DIR, [...SIDECAR, '--set', 'serviceMonitor.enabled=true']),
      renderError(helm, CHART_DIR, [...SIDECAR, '--set', 'serviceMonitor.enabled=true', '--set', 'sidecar.podSelector.app=shop'])
    ])
    t.match(noSelector, /serviceMonitor\.enabled in sidecar mode renders a PodMonitor .* set sidecar\.podSelector/)
    t.equal(withSelector, '')
    const objs = objects(helmTemplate(helm, 'shop', CHART_DIR, [...SIDECAR, '--set', 'serviceMonitor.enabled=true', '--set', 'sidecar.podSelector.app=shop']))
    t.same(find(objs, 'PodMonitor').spec.selector.matchLabels, { app: 'shop' })
    t.notOk(objs.some((o) => o.kind === 'ServiceMonitor'), 'no ServiceMonitor: there is no admin Service in sidecar mode')
  })

  t.test('sidecar mode: no PDB without a selector, and NOTES say so', async (t) => {
    const objs = objects(helmTemplate(helm, 'shop', CHART_DIR, SIDECAR))
    t.same(objs.map((o) => o.kind).sort(), ['ConfigMap', 'Secret', 'ServiceAccount'])
    t.match(notes(helm, SIDECAR), /WARNING: podDisruptionBudget\.enabled is set, but no PodDisruptionBudget was rendered/)
    t.notMatch(notes(helm, [...SIDECAR, '--set', 'podDisruptionBudget.enabled=false']), /WARNING/)
    const selected = notes(helm, [...SIDECAR, '--set', 'sidecar.podSelector.app=shop', '--set', 'serviceMonitor.enabled=true'])
    t.notMatch(selected, /WARNING/)
    t.match(selected, /PodMonitor "shop-drawbridge" scrapes the admin port of the pods labelled app: shop/)
    t.match(selected, /PodDisruptionBudget "shop-drawbridge" covers those pods/)
    const pdb = find(objects(helmTemplate(helm, 'shop', CHART_DIR, [...SIDECAR, '--set', 'sidecar.podSelector.app=shop', '--set', 'podDisruptionBudget.minAvailable=1'])), 'PodDisruptionBudget')
    t.same(pdb.spec, { minAvailable: 1, selector: { matchLabels: { app: 'shop' } } })
  })

  t.test('ServiceAccount: standalone pods use it; create=false uses the named one; neither mounts a token', async (t) => {
    const base = ['--set', 'upstream=http://shop:80', '--set', 'auth.adminToken=0123456789abcdef0123']
    const objs = objects(helmTemplate(helm, 'gate', CHART_DIR, base))
    const sa = find(objs, 'ServiceAccount')
    t.equal(sa.metadata.name, 'gate-drawbridge')
    t.equal(sa.automountServiceAccountToken, false)
    const pod = find(objs, 'Deployment').spec.template.spec
    t.equal(pod.serviceAccountName, 'gate-drawbridge')
    t.equal(pod.automountServiceAccountToken, false)
    const own = objects(helmTemplate(helm, 'gate', CHART_DIR, [...base, '--set', 'serviceAccount.create=false', '--set', 'serviceAccount.name=shop-sa']))
    t.notOk(own.some((o) => o.kind === 'ServiceAccount'))
    t.equal(find(own, 'Deployment').spec.template.spec.serviceAccountName, 'shop-sa')
    t.equal(find(own, 'Deployment').spec.template.spec.automountServiceAccountToken, false)
  })
}

const helm = findHelm()
if (helm === null) {
  t.fail('no helm binary: npm ci installs @aws-cdk/asset-kubectl-v20, which ships one (or set HELM_BIN)')
} else {
  run(helm)
}
