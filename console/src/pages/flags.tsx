import { useRef, useState } from 'preact/hooks'
import { call, get } from '../api.js'
import { useLive } from '../live.js'
import type { Flag } from '../types.js'
import { ActionResult, Field, Notice, Page, Switch, Time, useAction, useCanWrite } from '../ui.js'
import { FlagEditor } from './flag-editor.js'
import { UserFlagsSection } from './user-flags.js'

const KEY_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/

function NewFlagForm (props: { onCreated: (key: string) => Promise<void>, onCancel: () => void }): preact.JSX.Element {
  const [key, setKey] = useState('')
  const [description, setDescription] = useState('')
  const create = useAction()
  const keyRef = useRef<HTMLInputElement>(null)
  const bad = key !== '' && !KEY_PATTERN.test(key)
  return (
    <form
      class='card' aria-labelledby='new-flag-title'
      onSubmit={(e) => {
        e.preventDefault()
        void create.run(async () => {
          // If-None-Match: * makes this a create only: an existing flag of that key is not replaced.
          await call('PUT', `v1/flags/${encodeURIComponent(key)}`, { body: { description: description.trim() === '' ? null : description }, ifNoneMatch: '*' })
          await props.onCreated(key)
        })
      }}
    >
      <h2 id='new-flag-title'>New flag</h2>
      <p class='hint'>A new flag starts off. Switch it on, or roll it out, once it exists.</p>
      <div class='grid'>
        <Field id='new-flag-key' label='Key' hint='Lower-case letters, digits, “.”, “_” and “-”, as your code asks for it.' error={bad ? 'Use lower-case letters, digits, “.”, “_” and “-” only, starting with a letter or digit.' : null}>
          <input ref={keyRef} id='new-flag-key' type='text' required spellcheck={false} autoComplete='off' value={key} aria-invalid={bad} aria-describedby='new-flag-key-hint' onInput={(e) => { setKey(e.currentTarget.value.trim()) }} />
        </Field>
        <Field id='new-flag-description' label='Description' hint='What it switches, for whoever finds it later.'>
          <input id='new-flag-description' type='text' value={description} aria-describedby='new-flag-description-hint' onInput={(e) => { setDescription(e.currentTarget.value) }} />
        </Field>
      </div>
      <div class='actions'>
        <button type='submit' class='button primary' disabled={create.busy || key === '' || bad}>Create</button>
        <button type='button' class='button' onClick={props.onCancel}>Cancel</button>
      </div>
      <ActionResult action={create} />
    </form>
  )
}

function summary (f: Flag): string[] {
  const out: string[] = []
  if (f.rollout !== null) out.push(`${f.rollout.percentage}% rollout`)
  if (f.variants !== null && f.variants.length > 0) out.push(`${f.variants.length} variants`)
  if (f.rules !== null && f.rules.length > 0) out.push(`${f.rules.length} ${f.rules.length === 1 ? 'rule' : 'rules'}`)
  if (f.gate !== null) out.push(`gates ${f.gate.paths.join(', ')}`)
  if (f.requires !== null) out.push(`requires ${f.requires}`)
  if (f.prerequisites != null && f.prerequisites.length > 0) out.push(`after ${f.prerequisites.map((p) => p.flag).join(', ')}`)
  if (f.schedule != null && f.schedule.length > 0) out.push('scheduled')
  return out
}

export function FlagsPage (): preact.JSX.Element {
  const canWrite = useCanWrite()
  const [search, setSearch] = useState('')
  const [staleOnly, setStaleOnly] = useState(false)
  const [creating, setCreating] = useState(false)
  const [open, setOpen] = useState<string | null>(null)
  const toggle = useAction()
  const live = useLive(async () => (await get<{ flags: Flag[] }>(`v1/flags${staleOnly ? '?stale=true' : ''}`)).flags, 10_000, [staleOnly])
  const flags = live.data
  const needle = search.trim().toLowerCase()
  const shown = (flags ?? []).filter((f) => needle === '' || f.key.includes(needle) || (f.description ?? '').toLowerCase().includes(needle))

  return (
    <Page
      title='Flags'
      intro='Feature flags as the gateway and the SDKs evaluate them: switch, roll out, target, override for one user.'
      actions={<button type='button' class='button primary' disabled={!canWrite || creating} onClick={() => { setCreating(true) }}>New flag</button>}
    >
      {creating && (
        <NewFlagForm
          onCancel={() => { setCreating(false) }}
          onCreated={async (key) => {
            setCreating(false)
            setSearch('')
            await live.reload()
            // The new flag's switch is where the operator goes next.
            requestAnimationFrame(() => { document.getElementById(`flag-${key}`)?.focus() })
          }}
        />
      )}
      <div class='toolbar' role='search'>
        <Field id='flag-search' label='Search flags'>
          <input id='flag-search' type='search' value={search} onInput={(e) => { setSearch(e.currentTarget.value) }} />
        </Field>
        <label class='check'><input type='checkbox' checked={staleOnly} onChange={(e) => { setStaleOnly(e.currentTarget.checked) }} /> Only stale flags</label>
      </div>
      {live.error !== null && <Notice kind='error'>{live.error}</Notice>}
      <ActionResult action={toggle} />
      {flags === null && live.error === null && <p aria-busy='true'>Loading…</p>}
      {flags !== null && (
        <p class='muted' role='status'>
          {shown.length === flags.length ? `${flags.length} ${flags.length === 1 ? 'flag' : 'flags'}` : `${shown.length} of ${flags.length} flags`}
          {staleOnly ? ' that look stale' : ''}
        </p>
      )}
      <ul class='flag-list' aria-label='Flags'>
        {shown.map((f) => (
          <li key={f.key} class={open === f.key ? 'flag open' : 'flag'}>
            <div class='flag-row'>
              <span id={`flag-${f.key}-wrap`} class='flag-switch'>
                <Switch
                  checked={f.enabled} label={f.key} disabled={!canWrite || toggle.busy} describedBy={`flag-${f.key}-desc`}
                  onChange={(next) => { void toggle.run(async () => { await call('PATCH', `v1/flags/${encodeURIComponent(f.key)}`, { body: { enabled: next } }); await live.reload() }) }}
                />
              </span>
              <div class='flag-main'>
                <code class='flag-key' id={`flag-${f.key}`} tabIndex={-1}>{f.key}</code>
                <p class='flag-desc' id={`flag-${f.key}-desc`}>{f.description ?? <span class='muted'>No description</span>}</p>
                <p class='flag-meta'>
                  {summary(f).map((s) => <span key={s} class='tag'>{s}</span>)}
                  {f.stale !== undefined && <span class='tag tag-warn'>stale: {f.stale.reason}{f.stale.servedValue !== null ? `, serves ${f.stale.servedValue}` : ''} for {f.stale.days} days</span>}
                  <span class='muted small'>changed <Time iso={f.updatedAt} />{f.lastEvaluatedAt != null ? <>, last evaluated <Time iso={f.lastEvaluatedAt} /></> : ', never evaluated'}</span>
                </p>
              </div>
              {/* Named without the key (described by it), so that no button's name contains another control's name. */}
              <button type='button' class='button small' aria-expanded={open === f.key} aria-controls={open === f.key ? `flag-${f.key}-editor` : undefined} aria-describedby={`flag-${f.key}`} onClick={() => { setOpen(open === f.key ? null : f.key) }}>
                {open === f.key ? 'Close' : canWrite ? 'Edit' : 'Details'}
              </button>
            </div>
            {open === f.key && (
              <div id={`flag-${f.key}-editor`}>
                <FlagEditor flag={f} allFlags={flags ?? []} onChanged={async () => { await live.reload() }} onDeleted={async () => { setOpen(null); await live.reload() }} />
              </div>
            )}
          </li>
        ))}
      </ul>
      <UserFlagsSection />
    </Page>
  )
}
