import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { EXAMPLES_DIR, ROOT, readCommittedExample } from '../../scripts/render-helm-examples.js'

// docs/kubernetes.md's commands name Deployments and containers the example
// chart renders (the examples are rendered in namespace shop).

t.test('every kubectl exec deploy/<name> in docs/kubernetes.md names a rendered Deployment and container', async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'kubernetes.md'), 'utf8')
  const rendered = new Map<string, Set<string>>()
  for (const file of readdirSync(EXAMPLES_DIR).filter((f) => f.endsWith('.yaml') && !f.endsWith('.values.yaml'))) {
    for (const d of parseAllDocuments(readCommittedExample(file))) {
      const o = d.toJS() as { kind?: string, metadata?: { name: string }, spec?: any } | null
      if (o?.kind !== 'Deployment' || o.metadata === undefined) continue
      const pod = o.spec.template.spec
      rendered.set(o.metadata.name, new Set([...(pod.containers ?? []), ...(pod.initContainers ?? [])].map((c: { name: string }) => c.name)))
    }
  }
  const uses = [...doc.matchAll(/kubectl -n shop exec deploy\/([a-z0-9-]+)(?: -c ([a-z0-9-]+))?/g)]
  t.ok(uses.length >= 4, `${uses.length} commands`)
  for (const [line, name, container] of uses) {
    const containers = rendered.get(name as string)
    t.ok(containers, `${line}: a Deployment ${name as string} is rendered (${[...rendered.keys()].join(', ')})`)
    t.ok(containers?.has(container ?? 'drawbridge'), `${line}: it has a container ${container ?? 'drawbridge'}`)
  }
})
