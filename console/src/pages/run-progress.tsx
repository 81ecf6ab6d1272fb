import { useEffect, useState } from 'preact/hooks'
import { apiUrl } from '../api.js'
import type { Run, RunLogLine, RunStatus, RunStep } from '../types.js'
import { Findings } from './findings.js'
import { Notice, Section, TableWrap } from '../ui.js'

/**
 * One run followed live over its event stream (GET
 * /v1/migrations/runs/:id/events): status, each step as it moves, the log,
 * then the whole run at the end.
 */
export function RunProgress (props: { id: string, onEnd: () => void }): preact.JSX.Element {
  const [status, setStatus] = useState<RunStatus | null>(null)
  const [steps, setSteps] = useState<RunStep[]>([])
  const [log, setLog] = useState<RunLogLine[]>([])
  const [run, setRun] = useState<Run | null>(null)
  const [lost, setLost] = useState(false)

  useEffect(() => {
    const source = new EventSource(apiUrl(`v1/migrations/runs/${encodeURIComponent(props.id)}/events`), { withCredentials: true })
    const parse = <T,>(e: Event): T => JSON.parse((e as MessageEvent<string>).data) as T
    source.addEventListener('status', (e) => { setStatus(parse<{ status: RunStatus }>(e).status) })
    source.addEventListener('step', (e) => {
      const { index, step } = parse<{ index: number, step: RunStep }>(e)
      setSteps((prev) => { const next = [...prev]; next[index] = step; return next })
    })
    source.addEventListener('log', (e) => { const line = parse<RunLogLine>(e); setLog((prev) => [...prev, line].slice(-500)) })
    source.addEventListener('end', (e) => {
      const final = parse<Run>(e)
      setRun(final)
      setStatus(final.status)
      setSteps(final.steps)
      source.close()
      props.onEnd()
    })
    // The stream ends after `end`; an error before it means the connection was lost.
    source.onerror = () => { if (source.readyState === EventSource.CLOSED) setLost(true) }
    return () => { source.close() }
  }, [props.id])

  const done = run !== null
  return (
    <Section title='Run progress' id='mig-progress'>
      <p role='status' class='run-status'>
        Run <code>{props.id}</code>{run?.options.dryRun === true ? ' (dry run)' : ''}: <span class={`tag run-${status ?? 'queued'}`}>{status ?? 'connecting'}</span>
        {run?.durationMs != null && <> in {(run.durationMs / 1000).toFixed(1)} s</>}
      </p>
      {lost && !done && <Notice kind='warn'>The progress stream was lost; the run goes on. Show it again from Recent runs.</Notice>}
      {run?.error != null && <Notice kind='error'>{run.error.message} ({run.error.code})</Notice>}
      {steps.length > 0 && (
        <TableWrap label='Run steps'>
          <table>
            <thead><tr><th scope='col'>Step</th><th scope='col'>Status</th><th scope='col'>Time</th><th scope='col'>Detail</th></tr></thead>
            <tbody>
              {steps.map((s, i) => (
                <tr key={i}>
                  <th scope='row'>{s.kind} <code>{s.name}</code></th>
                  <td><span class={`tag step-${s.status}`}>{s.status}</span></td>
                  <td>{s.durationMs === null ? '' : `${s.durationMs} ms`}</td>
                  <td class='wrap'>{s.detail ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {log.length > 0 && (
        <div class='log' role='log' aria-label='Run log' tabIndex={0}>
          {log.map((l, i) => <div key={i} class={`log-${l.level}`}><span class='muted'>{l.at.slice(11, 19)}</span> {l.msg}</div>)}
        </div>
      )}
      {run !== null && run.findings.length > 0 && <Findings findings={run.findings} label='Findings of this run' />}
    </Section>
  )
}
