import type { Finding } from '../types.js'
import { Notice } from '../ui.js'

/** Analyzer findings (CONTRACT section 5) with the statement and how to write it safely. */
export function Findings (props: { findings: Finding[], label: string }): preact.JSX.Element {
  if (props.findings.length === 0) return <Notice kind='ok'>No findings: nothing in the pending migrations looks risky.</Notice>
  return (
    <ul class='findings' aria-label={props.label}>
      {props.findings.map((f, i) => (
        <li key={i} class={`finding sev-${f.severity}`}>
          <p class='finding-head'>
            <span class={`tag sev sev-${f.severity}`}>{f.severity}</span>
            <code>{f.migration}</code> line {f.line} · <code>{f.rule}</code>
          </p>
          <p>{f.message}</p>
          <pre class='statement'><code>{f.statement}</code></pre>
          <p class='fix'><strong>Fix:</strong> {f.fix}</p>
        </li>
      ))}
    </ul>
  )
}
