import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parse, parseAllDocuments, stringify } from 'yaml'
import { CHART_DIR, readCommittedExample } from '../../scripts/render-helm-examples.js'
import { spawnGateway } from '../helpers/spawn-gateway.js'

// The chart's alerting rules and Grafana dashboard: promtool checks and
// unit-tests the rules, every dashboard query parses as PromQL, and every
// metric either names is one a real gateway exports.

const RULES = join(CHART_DIR, 'rules', 'drawbridge.rules.yaml')
const DASHBOARD = join(CHART_DIR, 'dashboards', 'drawbridge.json')
const RULES_TEST = join(import.meta.dirname, 'fixtures', 'drawbridge.rules.test.yaml')
// Series from elsewhere: kube-state-metrics.
const EXTERNAL = new Set(['kube_pod_container_status_ready'])

function promtool (args: string[]): { ok: boolean, out: string } {
  try {
    return { ok: true, out: execFileSync('promtool', args, { encoding: 'utf8', stdio: 'pipe', timeout: 60_000 }) }
  } catch (err) {
    const e = err as { stdout?: string, stderr?: string, message: string }
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message }
  }
}

function hasPromtool (): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
}

interface RuleFile { groups: Array<{ name: string, rules: Array<{ alert?: string, record?: string, expr: string, for?: string }> }> }

const rules = parse(readFileSync(RULES, 'utf8')) as RuleFile
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string, panels: Array<{ type: string, title: string, targets?: Array<{ expr: string }> }> }
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ panel: p.title, expr: target.expr })))

/** Grafana's variables replaced by what Prometheus would receive. */
function concrete (expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$namespace', '.*').replaceAll('$job', '.*')
}

function metricNames (expr: string): string[] {
  return [...expr.matchAll(/\b((?:drawbridge|process|nodejs|kube)_[a-z0-9_]+)\b/g)].map((m) => m[1] as string)
}

const dir = mkdtempSync(join(tmpdir(), 'drawbridge-monitoring-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

if (!hasPromtool()) {
  t.fail('no promtool: install Debian\'s prometheus package (.ci/run does, without starting the service)')
} else {
  t.test('promtool: the rules file is valid and its unit tests pass', async (t) => {
    const check = promtool(['check', 'rules', RULES])
    t.ok(check.ok, check.out)
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert))
    for (const name of ['DrawbridgeMaintenanceStuckOn', 'DrawbridgeStoreUnreachable', 'DrawbridgeStateStale', 'DrawbridgeUpstream5xx', 'DrawbridgeUpstreamUnreachable', 'DrawbridgeNotReady']) {
      t.ok(alerts.includes(name), `alert ${name}`)
    }
    const unit = promtool(['test', 'rules', RULES_TEST])
    t.ok(unit.ok, unit.out)
  })

  t.test('the rendered PrometheusRule is the rules file, with the stuck-on period from the values', async (t) => {
    const pr = parseAllDocuments(readCommittedExample('standalone-ha.yaml')).map((d) => d.toJS()).find((o) => o?.kind === 'PrometheusRule')
    t.equal(pr.metadata.labels.release, 'prometheus')
    const expected = structuredClone(rules)
    for (const g of expected.groups) for (const r of g.rules) if (r.alert === 'DrawbridgeMaintenanceStuckOn') r.for = '2h'
    t.same(pr.spec, expected)
    const file = join(dir, 'rendered.rules.yaml')
    writeFileSync(file, stringify(pr.spec))
    const check = promtool(['check', 'rules', file])
    t.ok(check.ok, check.out)
  })

  t.test('every dashboard query parses as PromQL', async (t) => {
    t.ok(dashboardExprs.length >= 20, `${dashboardExprs.length} queries`)
    const file = join(dir, 'dashboard-queries.rules.yaml')
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: dashboardExprs.map((q, i) => ({ record: `dashboard:query_${i}`, expr: concrete(q.expr) })) }] }))
    const check = promtool(['check', 'rules', file])
    t.ok(check.ok, check.out)
  })
}

t.test('the dashboard: JSON Grafana loads, one datasource variable, shipped in the ConfigMap as is', async (t) => {
  t.equal(dashboard.uid, 'drawbridge')
  const ids = dashboard.panels.map((p) => (p as unknown as { id: number }).id)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  for (const q of dashboardExprs) t.match(q.expr, /namespace=~"\$namespace", job=~"\$job"/, `${q.panel}: scoped by namespace and job`)
  const cm = parseAllDocuments(readCommittedExample('standalone-ha.yaml')).map((d) => d.toJS()).find((o) => o?.kind === 'ConfigMap' && o.metadata.name.endsWith('-dashboard'))
  t.equal(cm.metadata.labels.grafana_dashboard, '1')
  t.same(JSON.parse(cm.data['drawbridge.json']), dashboard)
})

t.test('every metric the rules and the dashboard name is one a real gateway exports', async (t) => {
  const config = join(dir, 'drawbridge.yaml')
  // A webhook, so that its metric is registered (it is only with webhooks configured).
  writeFileSync(config, stringify({ webhooks: [{ url: 'http://127.0.0.1:9/hook', events: ['maintenance.enabled'] }] }))
  const gw = await spawnGateway(t, ['--upstream', 'http://127.0.0.1:9'], { DRAWBRIDGE_CONFIG: config })
  // The default collectors start with the first scrape.
  await fetch(`http://${gw.admin}/metrics`).then(async (r) => await r.text())
  const text = await (await fetch(`http://${gw.admin}/metrics`)).text()
  const exported = new Set<string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = m as unknown as [string, string, string]
    exported.add(name)
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(name + suffix)
  }
  const used = new Set([...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboardExprs.map((q) => q.expr)].flatMap(metricNames))
  t.ok(used.size >= 15, `${used.size} metrics used`)
  for (const name of used) t.ok(exported.has(name) || EXTERNAL.has(name), `${name} is exported`)
})
