import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

// Relative links in the operator guides point at files (and headings) that exist.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const GUIDES = [
  'README.md', 'runbook-maintenance-window.md', 'runbook-blue-green.md', 'zero-downtime-deploys-with-flags.md', 'kubernetes.md',
  'configuration.md', 'metrics.md', 'security.md', 'webhooks.md', 'console.md'
]

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
function anchors (markdown: string): Set<string> {
  const out = new Set<string>()
  for (const m of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) {
    out.add((m[1] as string).trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'))
  }
  return out
}

for (const guide of GUIDES) {
  t.test(`links in docs/${guide}`, async (t) => {
    const file = join(ROOT, 'docs', guide)
    const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '')
    for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      const href = m[1] as string
      if (/^[a-z]+:/.test(href)) continue
      const [path, anchor] = href.split('#') as [string, string | undefined]
      const target = path === '' ? file : resolve(dirname(file), path)
      t.ok(existsSync(target), `${href}: ${target.slice(ROOT.length + 1)} exists`)
      if (anchor !== undefined && target.endsWith('.md') && existsSync(target)) {
        t.ok(anchors(readFileSync(target, 'utf8')).has(anchor), `${href}: heading #${anchor} exists`)
      }
    }
  })
}
