import { createContext, type ComponentChildren } from 'preact'
import { useCallback, useContext, useState } from 'preact/hooks'
import { problem } from './api.js'
import type { SessionInfo } from './types.js'

/** Who is signed in; write controls are disabled for a read token. */
export const SessionContext = createContext<SessionInfo | null>(null)

export function useCanWrite (): boolean {
  return useContext(SessionContext)?.role === 'admin'
}

/** An on/off control announced as a switch, named by `label` (a flag's key, exactly). */
export function Switch (props: { checked: boolean, label: string, disabled?: boolean, onChange: (next: boolean) => void, describedBy?: string }): preact.JSX.Element {
  return (
    <button
      type='button'
      role='switch'
      class='switch'
      aria-checked={props.checked}
      aria-label={props.label}
      aria-describedby={props.describedBy}
      disabled={props.disabled}
      onClick={() => { props.onChange(!props.checked) }}
    >
      <span class='switch-track' aria-hidden='true'><span class='switch-thumb' /></span>
      <span class='switch-text' aria-hidden='true'>{props.checked ? 'On' : 'Off'}</span>
    </button>
  )
}

export function Notice (props: { kind: 'error' | 'ok' | 'info' | 'warn', children: ComponentChildren }): preact.JSX.Element {
  // Errors interrupt (alert); confirmations are announced politely (status).
  return <p class={`notice notice-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>{props.children}</p>
}

/** A labelled form control with an optional hint and error, tied to it for screen readers. */
export function Field (props: { id: string, label: string, hint?: ComponentChildren, error?: string | null, children: ComponentChildren, wide?: boolean }): preact.JSX.Element {
  return (
    <div class={props.wide === true ? 'field field-wide' : 'field'}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.hint !== undefined && <p class='hint' id={`${props.id}-hint`}>{props.hint}</p>}
      {props.error != null && <p class='field-error' id={`${props.id}-error`} role='alert'>{props.error}</p>}
    </div>
  )
}

/** A table that scrolls sideways on a phone; focusable so the keyboard can scroll it too. */
export function TableWrap (props: { label: string, children: ComponentChildren }): preact.JSX.Element {
  return <div class='table-wrap' role='region' aria-label={props.label} tabIndex={0}>{props.children}</div>
}

export function Time (props: { iso: string | null | undefined, fallback?: string }): preact.JSX.Element {
  if (props.iso == null || props.iso === '') return <span class='muted'>{props.fallback ?? '—'}</span>
  const d = new Date(props.iso)
  if (Number.isNaN(d.getTime())) return <span>{props.iso}</span>
  return <time dateTime={d.toISOString()} title={d.toISOString()}>{formatTime(d)}</time>
}

export function formatTime (d: Date): string {
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' })
}

export interface Action {
  busy: boolean
  error: string | null
  done: string | null
  /** Runs `fn`; on success shows `okMessage`, on failure the API's message. */
  run: (fn: () => Promise<unknown>, okMessage?: string) => Promise<boolean>
  clear: () => void
}

/** State of one button's request: busy while it runs, then its error or confirmation. */
export function useAction (): Action {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [done, setDone] = useState<string | null>(null)
  const run = useCallback(async (fn: () => Promise<unknown>, okMessage?: string): Promise<boolean> => {
    setBusy(true)
    setError(null)
    setDone(null)
    try {
      await fn()
      setDone(okMessage ?? null)
      return true
    } catch (err) {
      setError(problem(err))
      return false
    } finally {
      setBusy(false)
    }
  }, [])
  const clear = useCallback(() => { setError(null); setDone(null) }, [])
  return { busy, error, done, run, clear }
}

/** The outcome of an Action, where the operator is looking. */
export function ActionResult (props: { action: Action }): preact.JSX.Element | null {
  if (props.action.error !== null) return <Notice kind='error'>{props.action.error}</Notice>
  if (props.action.done !== null) return <Notice kind='ok'>{props.action.done}</Notice>
  return null
}

/** Lines of a textarea as a list: trimmed, blanks dropped. */
export function Page (props: { title: string, intro?: ComponentChildren, children: ComponentChildren, actions?: ComponentChildren }): preact.JSX.Element {
  return (
    <>
      <div class='page-head'>
        <h1 id='page-title' tabIndex={-1}>{props.title}</h1>
        {props.actions}
      </div>
      {props.intro !== undefined && <p class='intro'>{props.intro}</p>}
      {props.children}
    </>
  )
}

export function Section (props: { title: string, id: string, children: ComponentChildren, actions?: ComponentChildren }): preact.JSX.Element {
  return (
    <section class='card' aria-labelledby={props.id}>
      <div class='card-head'>
        <h2 id={props.id}>{props.title}</h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  )
}

/**
 * Entries, each with a button that removes it (allowlist addresses,
 * overrides), and the outcome of the last removal.
 */
export function RemovableList<T> (props: {
  label: string
  items: T[]
  keyOf: (item: T) => string
  render: (item: T) => ComponentChildren
  /** The remove button's accessible name, e.g. `Remove 10.0.0.0/8`. */
  removeLabel: (item: T) => string
  onRemove: (item: T) => Promise<unknown>
  removedMessage?: (item: T) => string
}): preact.JSX.Element {
  const canWrite = useCanWrite()
  const remove = useAction()
  return (
    <>
      <ul class='chips' aria-label={props.label}>
        {props.items.map((item) => (
          <li key={props.keyOf(item)} class='chip'>
            {props.render(item)}
            <button
              type='button' class='chip-remove' aria-label={props.removeLabel(item)} disabled={!canWrite || remove.busy}
              onClick={() => { void remove.run(async () => await props.onRemove(item), props.removedMessage?.(item)) }}
            >×
            </button>
          </li>
        ))}
      </ul>
      <ActionResult action={remove} />
    </>
  )
}
