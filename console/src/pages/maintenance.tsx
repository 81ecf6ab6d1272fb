import { useEffect, useRef, useState } from 'preact/hooks'
import { call } from '../api.js'
import { fromLocalInput, toLocalInput, useDraft } from '../draft.js'
import { useLive } from '../live.js'
import type { Maintenance } from '../types.js'
import { lines } from '../text.js'
import { ActionResult, Field, Notice, Page, Time, useAction, useCanWrite } from '../ui.js'
import { AllowlistSection, BypassSection } from './maintenance-access.js'
import { PreviewSection } from './maintenance-preview.js'

interface WindowDraft {
  message: string
  retryAfter: string
  startsAt: string
  endsAt: string
  mode: 'full' | 'read-only'
  paths: string
  exceptPaths: string
  redirect: string
}

const EMPTY: WindowDraft = { message: '', retryAfter: '', startsAt: '', endsAt: '', mode: 'full', paths: '', exceptPaths: '', redirect: '' }

function toDraft (m: Maintenance): WindowDraft {
  return {
    message: m.message ?? '',
    retryAfter: m.retryAfter === null ? '' : String(m.retryAfter),
    startsAt: toLocalInput(m.startsAt),
    endsAt: toLocalInput(m.endsAt),
    mode: m.mode,
    paths: (m.paths ?? []).join('\n'),
    exceptPaths: m.exceptPaths.join('\n'),
    redirect: m.redirect ?? ''
  }
}

/**
 * The PATCH body: only the fields the operator changed (a merge), so a save
 * never rewrites what was not touched (the form shows times to the minute).
 * The API validates it and names a bad field.
 */
function windowPatch (d: WindowDraft, base: WindowDraft): Record<string, unknown> {
  const retry = d.retryAfter.trim()
  const paths = lines(d.paths)
  const body: Record<string, unknown> = {
    message: d.message.trim() === '' ? null : d.message,
    retryAfter: retry === '' ? null : Number(retry),
    startsAt: fromLocalInput(d.startsAt),
    endsAt: fromLocalInput(d.endsAt),
    mode: d.mode,
    paths: paths.length === 0 ? null : paths,
    exceptPaths: lines(d.exceptPaths),
    redirect: d.redirect.trim() === '' ? null : d.redirect.trim()
  }
  for (const field of Object.keys(body) as Array<keyof WindowDraft>) if (d[field] === base[field]) delete body[field]
  return body
}

type Phase = 'off' | 'on' | 'scheduled' | 'ended'

function phaseOf (m: Maintenance, now: number): Phase {
  if (!m.enabled) return 'off'
  if (m.startsAt !== null && Date.parse(m.startsAt) > now) return 'scheduled'
  if (m.endsAt !== null && Date.parse(m.endsAt) <= now) return 'ended'
  return 'on'
}

const PHASE_TEXT: Record<Phase, string> = {
  off: 'Off: every request reaches the application',
  on: 'On: customers get the maintenance page',
  scheduled: 'Scheduled: customers get the page from the start below',
  ended: 'Over: the scheduled window has ended'
}

function StatusCard (props: { m: Maintenance }): preact.JSX.Element {
  const { m } = props
  // A scheduled window starts and ends without any change to the state: the clock moves the card.
  const [now, setNow] = useState(Date.now())
  useEffect(() => {
    if (m.startsAt === null && m.endsAt === null) return
    const timer = setInterval(() => { setNow(Date.now()) }, 1000)
    return () => { clearInterval(timer) }
  }, [m.startsAt, m.endsAt])
  const phase = phaseOf(m, now)
  return (
    <section class={`status status-${phase}`} aria-labelledby='maintenance-status'>
      <h2 id='maintenance-status' class='status-title'>
        <span class='status-dot' aria-hidden='true' />Maintenance is {phase === 'ended' ? 'over' : phase}
      </h2>
      <p class='status-text'>{PHASE_TEXT[phase]}</p>
      <dl class='facts'>
        {m.startsAt !== null && <><dt>Starts</dt><dd><Time iso={m.startsAt} /></dd></>}
        {m.endsAt !== null && <><dt>Ends</dt><dd><Time iso={m.endsAt} /></dd></>}
        <dt>Mode</dt><dd>{m.mode === 'full' ? 'Full (every request)' : 'Read-only (GET, HEAD, OPTIONS pass)'}</dd>
        <dt>Answer</dt><dd>HTTP {m.status}{m.retryAfter !== null ? `, Retry-After ${m.retryAfter} s` : ''}{m.redirect !== null ? `, redirect to ${m.redirect}` : ''}</dd>
        <dt>Scope</dt><dd>{m.paths === null ? 'Every path' : m.paths.join(', ')}{m.exceptPaths.length > 0 ? ` (except ${m.exceptPaths.join(', ')})` : ''}</dd>
        <dt>Last change</dt><dd>{m.updatedBy ?? 'nobody yet'}{m.updatedAt !== null && <>, <Time iso={m.updatedAt} /></>}</dd>
      </dl>
    </section>
  )
}

export function MaintenancePage (): preact.JSX.Element {
  const canWrite = useCanWrite()
  const etag = useRef<string | null>(null)
  const live = useLive<Maintenance>(async () => {
    const res = await call<Maintenance>('GET', 'v1/maintenance', { ifNoneMatch: etag.current })
    if (res.status === 304) return undefined
    etag.current = res.etag
    return res.data ?? undefined
  }, 5000)
  const m = live.data
  const draft = useDraft(m, toDraft, EMPTY)
  const toggle = useAction()
  const save = useAction()

  /** `settled`: the draft is saved by this patch (or was not edited), so it follows the server again. */
  const patch = async (body: Record<string, unknown>, ifMatch: string | null = null, settled = true): Promise<void> => {
    await call('PATCH', 'v1/maintenance', { body, ifMatch })
    if (settled) draft.reset()
    await live.reload()
  }
  const d = draft.value
  const on = m?.enabled === true

  return (
    <Page title='Maintenance' intro='Take the application offline for customers, choose who still gets through, and see the page they get.'>
      {live.error !== null && <Notice kind='error'>{live.error}</Notice>}
      {m === null
        ? <p aria-busy='true'>Loading…</p>
        : (
          <>
            <StatusCard m={m} />
            <form
              class='card' aria-labelledby='window-title'
              onSubmit={(e) => { e.preventDefault(); void save.run(async () => { await patch(windowPatch(d, toDraft(m)), etag.current) }, 'Saved.') }}
            >
              <div class='card-head'>
                <h2 id='window-title'>Window</h2>
                {on
                  ? <button type='button' class='button danger-outline' disabled={!canWrite || toggle.busy} onClick={() => { void toggle.run(async () => { await patch({ enabled: false }, null, !draft.dirty) }, 'Maintenance is off.') }}>Turn maintenance off</button>
                  : <button type='button' class='button danger' disabled={!canWrite || toggle.busy} onClick={() => { void toggle.run(async () => { await patch({ ...windowPatch(d, toDraft(m)), enabled: true }) }, 'Maintenance is on.') }}>Turn maintenance on</button>}
              </div>
              <ActionResult action={toggle} />
              {draft.stale && (
                <Notice kind='warn'>
                  The window was changed elsewhere while you were editing. <button type='button' class='link' onClick={() => { draft.reset() }}>Discard my edits</button>
                </Notice>
              )}
              <fieldset disabled={!canWrite} class='plain'>
                <legend class='visually-hidden'>Window settings</legend>
                <Field id='m-message' label='Message' hint='What customers read on the page. Empty: the default message.' wide>
                  <textarea id='m-message' rows={3} maxLength={4000} value={d.message} aria-describedby='m-message-hint' onInput={(e) => { draft.set({ message: e.currentTarget.value }) }} />
                </Field>
                <div class='grid'>
                  <Field id='m-starts' label='Starts at (your time)' hint='Empty: as soon as it is on.'>
                    <input id='m-starts' type='datetime-local' value={d.startsAt} aria-describedby='m-starts-hint' onInput={(e) => { draft.set({ startsAt: e.currentTarget.value }) }} />
                  </Field>
                  <Field id='m-ends' label='Ends at (your time)' hint='Empty: until turned off.'>
                    <input id='m-ends' type='datetime-local' value={d.endsAt} aria-describedby='m-ends-hint' onInput={(e) => { draft.set({ endsAt: e.currentTarget.value }) }} />
                  </Field>
                  <Field id='m-retry' label='Retry-After (seconds)' hint='Empty: the seconds until the end, if any.'>
                    <input id='m-retry' type='number' min={0} inputMode='numeric' value={d.retryAfter} aria-describedby='m-retry-hint' onInput={(e) => { draft.set({ retryAfter: e.currentTarget.value }) }} />
                  </Field>
                  <Field id='m-redirect' label='Redirect to (URL)' hint='Empty: show the page. Set: answer 307 to this URL.'>
                    <input id='m-redirect' type='url' value={d.redirect} aria-describedby='m-redirect-hint' onInput={(e) => { draft.set({ redirect: e.currentTarget.value }) }} />
                  </Field>
                </div>
                <fieldset class='choices'>
                  <legend>Mode</legend>
                  <label><input type='radio' name='m-mode' value='full' checked={d.mode === 'full'} onChange={() => { draft.set({ mode: 'full' }) }} /> Full: every request gets the page</label>
                  <label><input type='radio' name='m-mode' value='read-only' checked={d.mode === 'read-only'} onChange={() => { draft.set({ mode: 'read-only' }) }} /> Read-only: GET, HEAD and OPTIONS still pass</label>
                </fieldset>
                <div class='grid'>
                  <Field id='m-paths' label='Only these paths' hint='One path prefix per line. Empty: every path.'>
                    <textarea id='m-paths' rows={3} value={d.paths} aria-describedby='m-paths-hint' onInput={(e) => { draft.set({ paths: e.currentTarget.value }) }} />
                  </Field>
                  <Field id='m-except' label='Never these paths' hint='One path per line, e.g. /healthz.'>
                    <textarea id='m-except' rows={3} value={d.exceptPaths} aria-describedby='m-except-hint' onInput={(e) => { draft.set({ exceptPaths: e.currentTarget.value }) }} />
                  </Field>
                </div>
                <div class='actions'>
                  <button type='submit' class='button primary' disabled={!canWrite || save.busy || !draft.dirty}>Save window</button>
                  <button type='button' class='button' disabled={!draft.dirty} onClick={() => { draft.reset() }}>Undo edits</button>
                </div>
              </fieldset>
              <ActionResult action={save} />
            </form>
            <PreviewSection message={d.message} retryAfter={d.retryAfter} endsAt={fromLocalInput(d.endsAt)} />
            <AllowlistSection m={m} onChanged={async () => { await live.reload() }} />
            <BypassSection m={m} onChanged={async () => { await live.reload() }} />
          </>
          )}
    </Page>
  )
}
