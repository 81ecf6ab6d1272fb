import { useState } from 'preact/hooks'
import { ApiError, call, get } from '../api.js'
import { useLive } from '../live.js'
import type { Upstream, UpstreamsView } from '../types.js'
import { ActionResult, Field, Notice, Page, Section, TableWrap, Time, useAction, useCanWrite } from '../ui.js'

function Health (props: { u: Upstream }): preact.JSX.Element {
  const { healthy } = props.u
  const [cls, text] = healthy === null ? ['unknown', 'not checked'] : healthy ? ['ok', 'healthy'] : ['bad', 'unhealthy']
  return <span class={`health health-${cls}`}><span class='status-dot' aria-hidden='true' />{text}</span>
}

function CanaryForm (props: { view: UpstreamsView, onChanged: () => Promise<void> }): preact.JSX.Element {
  const canWrite = useCanWrite()
  const { routing, upstreams } = props.view
  const others = upstreams.filter((u) => u.name !== routing.active)
  const [target, setTarget] = useState(routing.canary?.upstream ?? others[0]?.name ?? '')
  const [percentage, setPercentage] = useState(String(routing.canary?.percentage ?? 10))
  const action = useAction()
  const patch = async (body: Record<string, unknown>): Promise<void> => {
    await call('PATCH', 'v1/routing', { body })
    await props.onChanged()
  }
  return (
    <Section title='Canary' id='up-canary'>
      <p class='hint'>Sends a share of users (always the same ones) to another upstream than the active one.</p>
      <p role='status'>{routing.canary === null ? 'No canary: everyone goes to the active upstream.' : `${routing.canary.percentage}% of users go to ${routing.canary.upstream}.`}</p>
      {others.length === 0
        ? <p class='muted'>Only one upstream is configured: start Drawbridge with <code>--upstreams blue=…,green=…</code> for a canary.</p>
        : (
          <form class='inline-form' onSubmit={(e) => { e.preventDefault(); void action.run(async () => { await patch({ canary: { upstream: target, percentage: Number(percentage) } }) }, 'Canary set.') }}>
            <fieldset disabled={!canWrite} class='plain inline-form'>
              <legend class='visually-hidden'>Canary settings</legend>
              <Field id='canary-target' label='Canary upstream'>
                <select id='canary-target' value={target} onChange={(e) => { setTarget(e.currentTarget.value) }}>
                  {others.map((u) => <option key={u.name} value={u.name}>{u.name}</option>)}
                </select>
              </Field>
              <Field id='canary-pct' label='Share of users (%)'>
                <input id='canary-pct' type='number' min={0} max={100} step={1} value={percentage} onInput={(e) => { setPercentage(e.currentTarget.value) }} />
              </Field>
              <button type='submit' class='button primary' disabled={action.busy}>Set canary</button>
              {routing.canary !== null && <button type='button' class='button' disabled={action.busy} onClick={() => { void action.run(async () => { await patch({ canary: null }) }, 'Canary stopped.') }}>Stop canary</button>}
            </fieldset>
          </form>
          )}
      <ActionResult action={action} />
    </Section>
  )
}

function PauseSection (props: { view: UpstreamsView, onChanged: () => Promise<void> }): preact.JSX.Element {
  const canWrite = useCanWrite()
  const { routing, held } = props.view
  const [maxMs, setMaxMs] = useState(String(routing.pauseMaxMs))
  const action = useAction()
  const patch = async (body: Record<string, unknown>): Promise<void> => {
    await call('PATCH', 'v1/routing', { body })
    await props.onChanged()
  }
  return (
    <Section title='Pause' id='up-pause'>
      <p class='hint'>While paused, requests are held (not answered) until you resume, then go to the active upstream in arrival order; one held longer than the limit gets the maintenance page. For a restart of a single instance.</p>
      <p role='status' class={routing.paused ? 'paused' : ''}>{routing.paused ? `Paused: ${held} ${held === 1 ? 'request' : 'requests'} held here.` : 'Traffic flows.'}</p>
      <fieldset disabled={!canWrite} class='plain inline-form'>
        <legend class='visually-hidden'>Pause settings</legend>
        <Field id='pause-max' label='Hold each request at most (ms)'>
          <input id='pause-max' type='number' min={1} max={600000} value={maxMs} onInput={(e) => { setMaxMs(e.currentTarget.value) }} />
        </Field>
        {routing.paused
          ? <button type='button' class='button primary' disabled={action.busy} onClick={() => { void action.run(async () => { await patch({ paused: false }) }, 'Resumed.') }}>Resume traffic</button>
          : <button type='button' class='button danger-outline' disabled={action.busy} onClick={() => { void action.run(async () => { await patch({ paused: true, pauseMaxMs: Number(maxMs) }) }, 'Paused.') }}>Pause traffic</button>}
      </fieldset>
      <ActionResult action={action} />
    </Section>
  )
}

export function UpstreamsPage (): preact.JSX.Element {
  const canWrite = useCanWrite()
  const live = useLive(async () => await get<UpstreamsView>('v1/upstreams'), 2000)
  const view = live.data
  const switching = useAction()
  const [refused, setRefused] = useState<string | null>(null)
  const switchTo = (name: string, force: boolean): void => {
    setRefused(null)
    void switching.run(async () => {
      try {
        await call('PATCH', 'v1/routing', { body: { active: name, ...(force ? { force: true } : {}) } })
      } catch (err) {
        // A health check made now failed: say so, and offer to switch anyway.
        if (err instanceof ApiError && err.code === 'DRAWBRIDGE_ERR_UPSTREAM_UNHEALTHY') setRefused(name)
        throw err
      }
      await live.reload()
    }, `Switched to ${name}.`)
  }

  return (
    <Page title='Upstreams' intro='Where the gateway sends traffic: switch between blue and green, send a canary share, or hold traffic for a moment.'>
      {live.error !== null && <Notice kind='error'>{live.error}</Notice>}
      {view === null && live.error === null && <p aria-busy='true'>Loading…</p>}
      {view !== null && (
        <>
          <Section title='Traffic' id='up-traffic'>
            <p class='lead'>Active: <strong>{view.routing.active}</strong>{view.routing.canary !== null && <>, canary {view.routing.canary.percentage}% to <strong>{view.routing.canary.upstream}</strong></>}{view.routing.paused && <>, <strong>paused</strong></>}</p>
            <p class='muted small'>Last change by {view.routing.updatedBy ?? 'nobody yet'}{view.routing.updatedAt !== null && <>, <Time iso={view.routing.updatedAt} /></>}</p>
            {view.problem !== null && <Notice kind='warn'>{view.problem}</Notice>}
            <TableWrap label='Upstreams'>
              <table>
                <thead><tr><th scope='col'>Name</th><th scope='col'>Health</th><th scope='col'>Traffic</th><th scope='col'>In flight</th><th scope='col'>Checked</th><th scope='col'>URL</th></tr></thead>
                <tbody>
                  {view.upstreams.map((u) => (
                    <tr key={u.name} class={u.name === view.routing.active ? 'active-row' : ''}>
                      <th scope='row'>{u.name}</th>
                      <td><Health u={u} /></td>
                      <td>
                        {u.name === view.routing.active
                          ? <span class='tag tag-ok'>active</span>
                          : <button type='button' class='button small' disabled={!canWrite || switching.busy} onClick={() => { switchTo(u.name, false) }}>Switch to {u.name}</button>}
                      </td>
                      <td>{u.inFlight}</td>
                      <td><Time iso={u.checkedAt} /></td>
                      <td><code>{u.url}</code></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
            <ActionResult action={switching} />
            {refused !== null && (
              <p><button type='button' class='button danger' disabled={!canWrite || switching.busy} onClick={() => { switchTo(refused, true) }}>Switch to {refused} anyway</button></p>
            )}
          </Section>
          <CanaryForm key={`${view.routing.active}`} view={view} onChanged={async () => { await live.reload() }} />
          <PauseSection view={view} onChanged={async () => { await live.reload() }} />
        </>
      )}
    </Page>
  )
}
