import { useState } from 'preact/hooks'
import { get } from '../api.js'
import { fromLocalInput } from '../draft.js'
import { useLive } from '../live.js'
import type { AuditEntry } from '../types.js'
import { Field, Notice, Page, TableWrap, Time } from '../ui.js'

const short = (v: unknown): string => {
  const text = v === undefined ? '—' : JSON.stringify(v)
  return text.length > 80 ? `${text.slice(0, 77)}…` : text
}

/** The fields an entry changed, as `field: before → after` (whole values when they are not objects). */
export function changes (before: unknown, after: unknown): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v)
  // A creation lists what was set; a deletion says so.
  if (before == null && isObject(after)) return ['created', ...Object.entries(after).filter(([k, v]) => v !== null && k !== 'key' && k !== 'createdAt' && k !== 'updatedAt').map(([k, v]) => `${k}: ${short(v)}`)]
  if (isObject(before) && after == null) return ['deleted']
  if (!isObject(before) || !isObject(after)) return [`${short(before)} → ${short(after)}`]
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => k !== 'updatedAt' && k !== 'updatedBy')
  // A field absent on one side and null on the other did not change.
  return keys.filter((k) => JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null)).map((k) => `${k}: ${short(before[k])} → ${short(after[k])}`)
}

const distinct = (values: string[]): string[] => [...new Set(values)].sort()

export function AuditPage (): preact.JSX.Element {
  const [limit, setLimit] = useState('100')
  const [actor, setActor] = useState('')
  const [action, setAction] = useState('')
  const [target, setTarget] = useState('')
  const [since, setSince] = useState('')
  const live = useLive(async () => (await get<{ entries: AuditEntry[] }>(`v1/audit?limit=${limit}`)).entries, 5000, [limit])
  const entries = live.data ?? []
  const sinceIso = fromLocalInput(since)
  const needle = target.trim().toLowerCase()
  const shown = entries.filter((e) =>
    (actor === '' || e.actor === actor) &&
    (action === '' || e.action === action) &&
    (needle === '' || e.target.toLowerCase().includes(needle)) &&
    (sinceIso === null || e.at >= sinceIso))

  return (
    <Page title='Audit log' intro='Who changed what and when, newest first: every change made through the console, the CLI or the API.'>
      <form class='toolbar filters' role='search' aria-label='Filter the audit log' onSubmit={(e) => { e.preventDefault() }}>
        <Field id='audit-actor' label='Who'>
          <select id='audit-actor' value={actor} onChange={(e) => { setActor(e.currentTarget.value) }}>
            <option value=''>anyone</option>
            {distinct(entries.map((e) => e.actor).concat(actor === '' ? [] : [actor])).map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </Field>
        <Field id='audit-action' label='Action'>
          <select id='audit-action' value={action} onChange={(e) => { setAction(e.currentTarget.value) }}>
            <option value=''>any</option>
            {distinct(entries.map((e) => e.action).concat(action === '' ? [] : [action])).map((a) => <option key={a} value={a}>{a}</option>)}
          </select>
        </Field>
        <Field id='audit-target' label='Target contains'>
          <input id='audit-target' type='search' value={target} onInput={(e) => { setTarget(e.currentTarget.value) }} />
        </Field>
        <Field id='audit-since' label='Since (your time)'>
          <input id='audit-since' type='datetime-local' value={since} onInput={(e) => { setSince(e.currentTarget.value) }} />
        </Field>
        <Field id='audit-limit' label='Newest'>
          <select id='audit-limit' value={limit} onChange={(e) => { setLimit(e.currentTarget.value) }}>
            {['100', '500', '1000'].map((n) => <option key={n} value={n}>{n} entries</option>)}
          </select>
        </Field>
      </form>
      {live.error !== null && <Notice kind='error'>{live.error}</Notice>}
      {live.data === null && live.error === null && <p aria-busy='true'>Loading…</p>}
      {live.data !== null && <p class='muted' role='status'>{shown.length === entries.length ? `${entries.length} entries` : `${shown.length} of ${entries.length} entries match`}</p>}
      {shown.length > 0 && (
        <TableWrap label='Audit entries'>
          <table class='audit'>
            <thead><tr><th scope='col'>When</th><th scope='col'>Who</th><th scope='col'>Action</th><th scope='col'>Target</th><th scope='col'>Change</th></tr></thead>
            <tbody>
              {shown.map((e) => (
                <tr key={e.id}>
                  <td><Time iso={e.at} /></td>
                  <td>{e.actor}</td>
                  <td><code>{e.action}</code></td>
                  <td><code>{e.target}</code></td>
                  <td class='wrap'><ul class='plain-list changes'>{changes(e.before, e.after).map((c, i) => <li key={i}><code>{c}</code></li>)}</ul></td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Page>
  )
}
