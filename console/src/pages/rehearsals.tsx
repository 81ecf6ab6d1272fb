import { useEffect, useState } from 'preact/hooks'
import { ApiError, call, get } from '../api.js'
import type { Rehearsal } from '../types.js'
import { Findings } from './findings.js'
import { ActionResult, Field, Notice, Section, TableWrap, useAction, useCanWrite } from '../ui.js'

const POLL_MS = 1000
const LAST_KEY = 'drawbridge.rehearsal'

/**
 * Whether this gateway has rehearsals (CONTRACT section 8): asks for one that
 * does not exist; the route answers "no such rehearsal", while a gateway
 * without the feature answers that the route itself is not found.
 */
async function rehearsalsAvailable (): Promise<boolean> {
  try {
    await get('v1/migrations/rehearsals/00000000-0000-0000-0000-000000000000')
    return true
  } catch (err) {
    return !(err instanceof ApiError && err.status === 404 && /^Route /.test(err.message))
  }
}

function RehearsalResult (props: { r: Rehearsal }): preact.JSX.Element {
  const { r } = props
  const failure = typeof r.error === 'string' ? r.error : r.error?.message
  return (
    <>
      <p role='status'>Rehearsal <code>{r.id}</code> on <code>{r.database}</code>: <span class={`tag run-${r.status}`}>{r.status}</span></p>
      {failure !== undefined && failure !== null && <Notice kind='error'>{failure}</Notice>}
      {r.migrations.length > 0 && (
        <TableWrap label='Rehearsed migrations'>
          <table>
            <thead><tr><th scope='col'>Migration</th><th scope='col'>Status</th><th scope='col'>Time</th><th scope='col'>Verdict</th><th scope='col'>Statements: rewrites and locks</th></tr></thead>
            <tbody>
              {r.migrations.map((m) => (
                <tr key={m.name}>
                  <th scope='row'><code>{m.name}</code></th>
                  <td><span class={`tag step-${m.status}`}>{m.status}</span></td>
                  <td>{m.ms} ms</td>
                  <td class='wrap'>{m.verdict ?? ''}</td>
                  <td class='wrap'>
                    <ul class='plain-list'>
                      {m.statements.map((s, i) => (
                        <li key={i}>
                          line {s.line}: {s.ms} ms{s.rewrote ? <>, <strong>rewrote the table</strong></> : ''}
                          {s.locks.map((l, j) => <span key={j} class={l.mode === 'AccessExclusiveLock' ? 'tag tag-bad' : 'tag'}>{l.mode} on {l.relation}, {l.ms} ms</span>)}
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {r.findings.length > 0 && <Findings findings={r.findings} label='Findings of this rehearsal' />}
    </>
  )
}

/** Rehearse the pending migrations on a scratch copy of the database; hidden on a gateway without rehearsals. */
export function RehearsalsSection (): preact.JSX.Element | null {
  const canWrite = useCanWrite()
  const [available, setAvailable] = useState<boolean | null>(null)
  const [source, setSource] = useState<'live' | 'backup'>('live')
  const [backup, setBackup] = useState('')
  const [keep, setKeep] = useState(false)
  const [id, setId] = useState<string | null>(sessionStorage.getItem(LAST_KEY))
  const [result, setResult] = useState<Rehearsal | null>(null)
  const start = useAction()

  useEffect(() => { void rehearsalsAvailable().then(setAvailable) }, [])
  useEffect(() => {
    if (id === null || available !== true) return
    let stopped = false
    const poll = async (): Promise<void> => {
      try {
        const r = await get<Rehearsal>(`v1/migrations/rehearsals/${encodeURIComponent(id)}`)
        if (stopped) return
        setResult(r)
        if (r.status === 'succeeded' || r.status === 'failed') return
      } catch {
        if (stopped) return
      }
      setTimeout(() => { void poll() }, POLL_MS)
    }
    void poll()
    return () => { stopped = true }
  }, [id, available])

  if (available !== true) return null
  return (
    <Section title='Rehearsals' id='mig-rehearsals'>
      <p class='hint'>Applies the pending migrations to a scratch copy of the database, exactly as a run would, and reports how long each statement took, which tables it rewrote and which locks it held. The live database is never written.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          void start.run(async () => {
            const res = await call<{ id: string }>('POST', 'v1/migrations/rehearsals', { body: { source, ...(source === 'backup' ? { backup } : {}), keep } })
            if (res.data === null) return
            sessionStorage.setItem(LAST_KEY, res.data.id)
            setResult(null)
            setId(res.data.id)
          }, 'Rehearsal started.')
        }}
      >
        <fieldset disabled={!canWrite} class='plain'>
          <legend class='visually-hidden'>Rehearsal options</legend>
          <div class='grid'>
            <Field id='reh-source' label='Copy from'>
              <select id='reh-source' value={source} onChange={(e) => { setSource(e.currentTarget.value as 'live' | 'backup') }}>
                <option value='live'>the live database (read-only pg_dump)</option>
                <option value='backup'>a backup file</option>
              </select>
            </Field>
            {source === 'backup' && (
              <Field id='reh-backup' label='Backup file'>
                <input id='reh-backup' type='text' spellcheck={false} value={backup} onInput={(e) => { setBackup(e.currentTarget.value) }} />
              </Field>
            )}
          </div>
          <label class='check'><input type='checkbox' checked={keep} onChange={(e) => { setKeep(e.currentTarget.checked) }} /> Keep the scratch database afterwards</label>
          <div class='actions'><button type='submit' class='button' disabled={start.busy}>Start rehearsal</button></div>
        </fieldset>
      </form>
      <ActionResult action={start} />
      {result !== null && <RehearsalResult r={result} />}
    </Section>
  )
}
