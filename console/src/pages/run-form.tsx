import { useState } from 'preact/hooks'
import { call } from '../api.js'
import { ActionResult, Field, Section, useAction, useCanWrite } from '../ui.js'

interface RunDraft {
  step: string
  maintenance: 'auto' | 'always' | 'never'
  pause: boolean
  backup: boolean
  allowDangerous: boolean
  onFailure: 'keep' | 'restore'
  statementTimeoutMs: string
  lockTimeoutMs: string
  message: string
  retryAfter: string
}

const DEFAULTS: RunDraft = { step: '', maintenance: 'auto', pause: false, backup: false, allowDangerous: false, onFailure: 'keep', statementTimeoutMs: '', lockTimeoutMs: '', message: '', retryAfter: '' }

/** The run body (CONTRACT section 5): options left empty take the server's defaults. */
function runBody (d: RunDraft, dryRun: boolean): Record<string, unknown> {
  const int = (text: string): number | undefined => text.trim() === '' ? undefined : Number(text)
  const body: Record<string, unknown> = {
    dryRun,
    step: int(d.step),
    maintenance: d.maintenance,
    pause: d.pause,
    backup: d.backup,
    allowDangerous: d.allowDangerous,
    onFailure: d.onFailure,
    statementTimeoutMs: int(d.statementTimeoutMs),
    lockTimeoutMs: int(d.lockTimeoutMs),
    message: d.message.trim() === '' ? undefined : d.message,
    retryAfter: int(d.retryAfter)
  }
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k]
  return body
}

/** Start a dry run (rolled back) or a run, with the options of CONTRACT section 5. */
export function RunForm (props: { pending: number, onStarted: (id: string) => void }): preact.JSX.Element {
  const canWrite = useCanWrite()
  const [d, setD] = useState<RunDraft>(DEFAULTS)
  const [confirm, setConfirm] = useState(false)
  const start = useAction()
  const set = (patch: Partial<RunDraft>): void => { setD({ ...d, ...patch }) }
  const step = Number(d.step)
  const count = Number.isInteger(step) && step > 0 ? Math.min(step, props.pending) : props.pending
  const go = (dryRun: boolean): void => {
    setConfirm(false)
    void start.run(async () => {
      const res = await call<{ id: string }>('POST', 'v1/migrations/runs', { body: runBody(d, dryRun) })
      if (res.data !== null) props.onStarted(res.data.id)
    }, dryRun ? 'Dry run started.' : 'Run started.')
  }
  return (
    <Section title='Run' id='mig-run'>
      <p class='hint'>A dry run executes every pending migration in a transaction that is rolled back: it proves they apply, and changes nothing. A run applies them for good.</p>
      <fieldset disabled={!canWrite} class='plain'>
        <legend class='visually-hidden'>Run options</legend>
        <div class='grid'>
          <Field id='run-maintenance' label='Maintenance window'>
            <select id='run-maintenance' value={d.maintenance} onChange={(e) => { set({ maintenance: e.currentTarget.value as RunDraft['maintenance'] }) }}>
              <option value='auto'>auto: when a migration asks for one</option>
              <option value='always'>always</option>
              <option value='never'>never</option>
            </select>
          </Field>
          <Field id='run-failure' label='On failure'>
            <select id='run-failure' value={d.onFailure} onChange={(e) => { set({ onFailure: e.currentTarget.value as RunDraft['onFailure'] }) }}>
              <option value='keep'>keep maintenance on</option>
              <option value='restore'>restore maintenance as it was</option>
            </select>
          </Field>
          <Field id='run-step' label='At most this many migrations' hint='Empty: all pending.'>
            <input id='run-step' type='number' min={1} value={d.step} aria-describedby='run-step-hint' onInput={(e) => { set({ step: e.currentTarget.value }) }} />
          </Field>
          <Field id='run-stmt' label='Statement timeout (ms)' hint='Empty: one hour.'>
            <input id='run-stmt' type='number' min={0} value={d.statementTimeoutMs} aria-describedby='run-stmt-hint' onInput={(e) => { set({ statementTimeoutMs: e.currentTarget.value }) }} />
          </Field>
          <Field id='run-lock' label='Lock timeout (ms)' hint='Empty: 5000.'>
            <input id='run-lock' type='number' min={0} value={d.lockTimeoutMs} aria-describedby='run-lock-hint' onInput={(e) => { set({ lockTimeoutMs: e.currentTarget.value }) }} />
          </Field>
          <Field id='run-retry' label='Retry-After while it runs (s)'>
            <input id='run-retry' type='number' min={0} value={d.retryAfter} onInput={(e) => { set({ retryAfter: e.currentTarget.value }) }} />
          </Field>
        </div>
        <Field id='run-message' label='Page text while it runs' hint='Shown to customers if a window opens. Empty: the current message.' wide>
          <input id='run-message' type='text' value={d.message} aria-describedby='run-message-hint' onInput={(e) => { set({ message: e.currentTarget.value }) }} />
        </Field>
        <div class='checks'>
          <label class='check'><input type='checkbox' checked={d.backup} onChange={(e) => { set({ backup: e.currentTarget.checked }) }} /> Back up with pg_dump first</label>
          <label class='check'><input type='checkbox' checked={d.pause} onChange={(e) => { set({ pause: e.currentTarget.checked }) }} /> Hold traffic (pause) instead of a window</label>
          <label class='check'><input type='checkbox' checked={d.allowDangerous} onChange={(e) => { set({ allowDangerous: e.currentTarget.checked }) }} /> Run despite high-severity findings</label>
        </div>
        <div class='actions'>
          <button type='button' class='button primary' disabled={start.busy || props.pending === 0} onClick={() => { go(true) }}>Start dry run</button>
          {!confirm && <button type='button' class='button danger-outline' disabled={start.busy || props.pending === 0} onClick={() => { setConfirm(true) }}>Apply migrations…</button>}
          {confirm && (
            <>
              <button type='button' class='button danger' disabled={start.busy} onClick={() => { go(false) }}>Apply {count} {count === 1 ? 'migration' : 'migrations'} for good</button>
              <button type='button' class='button' onClick={() => { setConfirm(false) }}>Not now</button>
            </>
          )}
        </div>
      </fieldset>
      <ActionResult action={start} />
    </Section>
  )
}
