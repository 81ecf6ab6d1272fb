import { useState } from 'preact/hooks'
import { call, get } from '../api.js'
import { useLive } from '../live.js'
import type { Finding, MigrationStatus, Run } from '../types.js'
import { Findings } from './findings.js'
import { ActionResult, Notice, Page, Section, TableWrap, Time, useAction } from '../ui.js'
import { RehearsalsSection } from './rehearsals.js'
import { RunForm } from './run-form.js'
import { RunProgress } from './run-progress.js'

function StatusSection (props: { s: MigrationStatus }): preact.JSX.Element {
  const { s } = props
  return (
    <Section title='Status' id='mig-status'>
      <ul class='stats'>
        <li><span class='stat'>{s.applied.length}</span> applied</li>
        <li><span class='stat'>{s.pending.length}</span> pending</li>
        <li class={s.drifted.length > 0 ? 'bad' : ''}><span class='stat'>{s.drifted.length}</span> drifted</li>
        <li><span class='stat'>{s.missing.length}</span> missing</li>
      </ul>
      {s.locked && <Notice kind='warn'>A run holds the migration lock right now.</Notice>}
      {s.drifted.length > 0 && (
        <Notice kind='error'>
          Applied migrations changed on disk; runs are blocked until the files are put back: {s.drifted.map((d) => d.name).join(', ')}.
        </Notice>
      )}
      <p class='muted small'>Directory <code>{s.migrationsDir}</code>{s.lastRun !== null && <>; last run {s.lastRun.dryRun ? '(dry) ' : ''}{s.lastRun.status} by {s.lastRun.actor}, <Time iso={s.lastRun.finishedAt ?? s.lastRun.createdAt} /></>}</p>
      {s.backup !== null && <p class='small'>Newest backup: <code>{s.backup.file}</code>{s.backup.exists ? '' : ' (file gone)'}; restore with <code>{s.backup.restore}</code></p>}
      <h3 class='h4'>Pending</h3>
      {s.pending.length === 0
        ? <p class='muted'>Nothing to apply.</p>
        : (
          <TableWrap label='Pending migrations'>
            <table>
              <thead><tr><th scope='col'>Migration</th><th scope='col'>Needs</th><th scope='col'>Activates</th></tr></thead>
              <tbody>
                {s.pending.map((p) => (
                  <tr key={p.name}>
                    <th scope='row'><code>{p.name}</code></th>
                    <td>{[p.maintenance ? 'maintenance window' : '', p.noTransaction ? 'no transaction' : ''].filter((x) => x !== '').join(', ') || '—'}</td>
                    <td>{p.activates.join(', ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          )}
      <h3 class='h4'>Applied</h3>
      {s.applied.length === 0
        ? <p class='muted'>None yet.</p>
        : (
          <TableWrap label='Applied migrations'>
            <table>
              <thead><tr><th scope='col'>Migration</th><th scope='col'>Applied</th><th scope='col'>State</th></tr></thead>
              <tbody>
                {s.applied.map((a) => (
                  <tr key={a.name}>
                    <th scope='row'><code>{a.name}</code></th>
                    <td><Time iso={a.appliedAt} /></td>
                    <td>{a.drifted ? <span class='tag tag-bad'>drifted</span> : s.missing.includes(a.name) ? <span class='tag tag-warn'>file missing</span> : 'ok'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          )}
    </Section>
  )
}

export function MigrationsPage (): preact.JSX.Element {
  const status = useLive(async () => await get<MigrationStatus>('v1/migrations'), 5000)
  const runs = useLive(async () => (await get<{ runs: Run[] }>('v1/migrations/runs?limit=10')).runs, 5000)
  const [findings, setFindings] = useState<Finding[] | null>(null)
  const [watching, setWatching] = useState<string | null>(null)
  const analyze = useAction()
  const notConfigured = status.error !== null && /not configured/i.test(status.error)

  return (
    <Page title='Migrations' intro='The SQL migrations of the application’s database: what is applied, what is pending and how risky it is, and runs with their live progress.'>
      {notConfigured
        ? <Notice kind='info'>No database is configured. Start Drawbridge with <code>--database-url</code> (<code>DRAWBRIDGE_DATABASE_URL</code>) and <code>--migrations-dir</code> to manage migrations here.</Notice>
        : status.error !== null && <Notice kind='error'>{status.error}</Notice>}
      {status.data === null && status.error === null && <p aria-busy='true'>Loading…</p>}
      {status.data !== null && (
        <>
          <StatusSection s={status.data} />
          <Section
            title='Findings' id='mig-findings'
            actions={<button type='button' class='button' disabled={analyze.busy} onClick={() => { void analyze.run(async () => { setFindings((await call<{ findings: Finding[] }>('POST', 'v1/migrations/analyze', { body: {} })).data?.findings ?? []) }) }}>Analyze pending migrations</button>}
          >
            <p class='hint'>Statements that can lose data or lock a table for long, with how to write them safely.</p>
            <ActionResult action={analyze} />
            {findings !== null && <Findings findings={findings} label='Findings' />}
          </Section>
          <RunForm pending={status.data.pending.length} onStarted={(id) => { setWatching(id); void runs.reload() }} />
          {watching !== null && <RunProgress key={watching} id={watching} onEnd={() => { void status.reload(); void runs.reload() }} />}
          <Section title='Recent runs' id='mig-runs'>
            {runs.error !== null && !notConfigured && <Notice kind='error'>{runs.error}</Notice>}
            {runs.data !== null && runs.data.length === 0 && <p class='muted'>No runs yet.</p>}
            {runs.data !== null && runs.data.length > 0 && (
              <TableWrap label='Recent runs'>
                <table>
                  <thead><tr><th scope='col'>Started</th><th scope='col'>Kind</th><th scope='col'>Status</th><th scope='col'>By</th><th scope='col'><span class='visually-hidden'>Progress</span></th></tr></thead>
                  <tbody>
                    {runs.data.map((r) => (
                      <tr key={r.id}>
                        <td><Time iso={r.startedAt ?? r.createdAt} /></td>
                        <td>{r.options.dryRun ? 'dry run' : 'run'}</td>
                        <td><span class={`tag run-${r.status}`}>{r.status}</span></td>
                        <td>{r.actor}</td>
                        <td><button type='button' class='button small' aria-pressed={watching === r.id} onClick={() => { setWatching(r.id) }}>Show progress<span class='visually-hidden'> of run {r.id}</span></button></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </TableWrap>
            )}
          </Section>
          <RehearsalsSection />
        </>
      )}
    </Page>
  )
}
