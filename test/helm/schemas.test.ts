import { readdirSync } from 'node:fs'
import t, { type Test } from 'tap'
import { parseAllDocuments } from 'yaml'
import { findHelm } from '../../scripts/helm-binary.js'
import { CHART_DIR, EXAMPLES_DIR, helmTemplate, readCommittedExample, withSidecarDependency } from '../../scripts/render-helm-examples.js'
import { schemaErrors } from './k8s-schema.js'

// Every rendered example, and the variants no committed example shows, checked
// against the Kubernetes (and Prometheus Operator) schemas, not lint alone.

function check (t: Test, name: string, text: string): void {
  const objs = parseAllDocuments(text).map((d) => d.toJS() as { apiVersion?: string, kind?: string, metadata?: { name?: string } } | null).filter((o) => o !== null)
  t.ok(objs.length > 0, `${name}: renders objects`)
  for (const obj of objs) t.equal(schemaErrors(obj), null, `${name}: ${obj.kind ?? '?'} ${obj.metadata?.name ?? '?'} matches the schema`)
}

t.test('the validator catches what the API server would refuse', async (t) => {
  const deploy = parseAllDocuments(readCommittedExample('standalone-minimal.yaml')).map((d) => d.toJS()).find((o) => o?.kind === 'Deployment')
  t.equal(schemaErrors(deploy), null)
  deploy.spec.template.spec.containers[0].ports[0].containerPort = 'http'
  t.match(schemaErrors(deploy), /containerPort must be integer/)
  t.match(schemaErrors({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'x' }, spec: { selector: { matchLabels: { a: 1 } } } }), /must be string/)
  t.match(schemaErrors({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'x' }, spec: {} }), /selector/)
  t.match(schemaErrors({ apiVersion: 'example.com/v1', kind: 'Thing' }), /no schema/)
})

t.test('every committed example matches the Kubernetes schemas', async (t) => {
  const files = readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml') && !f.endsWith('.values.yaml'))
  t.ok(files.length >= 4)
  for (const file of files) check(t, file, readCommittedExample(file))
})

const helm = findHelm()
if (helm === null) {
  t.fail('no helm binary: npm ci installs @aws-cdk/asset-kubectl-v20, which ships one (or set HELM_BIN)')
} else {
  t.test('variants the examples do not show match the schemas too', async (t) => {
    const token = ['--set', 'auth.adminToken=0123456789abcdef0123']
    const standalone = [...token, '--set', 'upstream=http://shop:80']
    const variants: Array<[string, string[]]> = [
      ['standalone defaults', standalone],
      ['standalone, everything on', [...standalone, '--set', 'replicaCount=3', '--set', 'redis.url=redis://r:6379', '--set', 'serviceMonitor.enabled=true',
        '--set', 'prometheusRule.enabled=true', '--set', 'grafanaDashboard.enabled=true', '--set', 'networkPolicy.enabled=true', '--set', 'ingress.enabled=true',
        '--set', 'readinessProbe.path=/readyz', '--set', 'serviceAccount.create=false']],
      ['sidecar defaults', [...token, '--set', 'mode=sidecar']],
      ['sidecar, monitored', [...token, '--set', 'mode=sidecar', '--set', 'sidecar.podSelector.app=shop', '--set', 'serviceMonitor.enabled=true',
        '--set', 'prometheusRule.enabled=true', '--set', 'grafanaDashboard.enabled=true', '--set', 'podDisruptionBudget.minAvailable=50%']]
    ]
    for (const [name, args] of variants) check(t, name, helmTemplate(helm, 'shop', CHART_DIR, args))
    withSidecarDependency((dir) => {
      check(t, 'sidecar app, native sidecar', helmTemplate(helm, 'shop', dir, ['--set', 'drawbridge.sidecar.native=true', '--kube-version', '1.29.0']))
    })
  })
}
