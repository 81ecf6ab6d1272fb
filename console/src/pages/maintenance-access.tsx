import { useState } from 'preact/hooks'
import { call } from '../api.js'
import type { Maintenance } from '../types.js'
import { ActionResult, Field, Notice, RemovableList, Section, useAction, useCanWrite } from '../ui.js'

/** Entries typed or pasted: separated by spaces, commas or new lines. */
function entries (text: string): string[] {
  return text.split(/[\s,]+/).map((e) => e.trim()).filter((e) => e !== '')
}

/**
 * Addresses let through while maintenance is on. Single-entry edits
 * (allowAdd/allowRemove) apply to the newest list on the server, so two
 * operators adding at once both keep their entry; a bad entry is refused by
 * the API, whose message names it.
 */
export function AllowlistSection (props: { m: Maintenance, onChanged: () => Promise<void> }): preact.JSX.Element {
  const canWrite = useCanWrite()
  const [text, setText] = useState('')
  const add = useAction()
  const patch = async (body: Record<string, unknown>): Promise<void> => {
    await call('PATCH', 'v1/maintenance', { body })
    await props.onChanged()
  }
  const { allow } = props.m
  return (
    <Section title='Allowlist' id='m-allow'>
      <p class='hint'>Clients from these addresses (IPv4 or IPv6, single or CIDR) pass while maintenance is on: your office, your testers.</p>
      {allow.length === 0
        ? <p class='muted'>Nobody is let through.</p>
        : (
          <RemovableList
            label='Allowed addresses' items={allow} keyOf={(entry) => entry} render={(entry) => <code>{entry}</code>}
            removeLabel={(entry) => `Remove ${entry}`} removedMessage={(entry) => `Removed ${entry}.`}
            onRemove={async (entry) => { await patch({ allowRemove: [entry] }) }}
          />
          )}
      <form
        class='inline-form'
        onSubmit={(e) => {
          e.preventDefault()
          void add.run(async () => { await patch({ allowAdd: entries(text) }); setText('') }, 'Added.')
        }}
      >
        <Field id='m-allow-add' label='Address or CIDR' hint='e.g. 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32; several separated by spaces.'>
          <input id='m-allow-add' type='text' spellcheck={false} autoComplete='off' value={text} disabled={!canWrite} aria-describedby='m-allow-add-hint' onInput={(e) => { setText(e.currentTarget.value); add.clear() }} />
        </Field>
        <button type='submit' class='button' disabled={!canWrite || add.busy || entries(text).length === 0}>Add to allowlist</button>
      </form>
      <ActionResult action={add} />
    </Section>
  )
}

/** Copies with the Clipboard API where the page may (a secure context), else through a selection. */
async function copyText (text: string, input: HTMLInputElement | null): Promise<void> {
  if (navigator.clipboard !== undefined && window.isSecureContext) {
    await navigator.clipboard.writeText(text)
    return
  }
  if (input === null) throw new Error('Select the URL and copy it by hand.')
  input.select()
  // The pre-Clipboard-API way, still the only one on a plain-HTTP admin address other than localhost.
  if (!document.execCommand('copy')) throw new Error('Select the URL and copy it by hand.')
}

/**
 * The bypass URL: whoever opens it gets a cookie that lets them through the
 * maintenance page. Rotating the secret voids every cookie handed out.
 */
export function BypassSection (props: { m: Maintenance, onChanged: () => Promise<void> }): preact.JSX.Element {
  const canWrite = useCanWrite()
  const action = useAction()
  const copy = useAction()
  const [confirmRemove, setConfirmRemove] = useState(false)
  const patch = async (body: Record<string, unknown>): Promise<void> => {
    await call('PATCH', 'v1/maintenance', { body })
    await props.onChanged()
  }
  const { secret, bypassUrl } = props.m
  const redacted = secret !== null && (bypassUrl === null || !/^https?:/.test(bypassUrl))
  return (
    <Section title='Bypass URL' id='m-bypass'>
      <p class='hint'>Opening this URL sets a cookie that lets that browser through the maintenance page, for testers and staff. Anyone with the URL gets in: share it like a password.</p>
      {secret === null && <p class='muted'>No bypass URL: nobody gets through by URL.</p>}
      {redacted && <Notice kind='info'>A bypass URL is set. Only an admin token sees it.</Notice>}
      {secret !== null && !redacted && bypassUrl !== null && (
        <div class='inline-form'>
          <Field id='m-bypass-url' label='Bypass URL'>
            <input id='m-bypass-url' type='text' readOnly value={bypassUrl} class='mono' onFocus={(e) => { e.currentTarget.select() }} />
          </Field>
          <button type='button' class='button' disabled={copy.busy} onClick={() => { void copy.run(async () => { await copyText(bypassUrl, document.getElementById('m-bypass-url') as HTMLInputElement | null) }, 'Copied to the clipboard.') }}>Copy bypass URL</button>
        </div>
      )}
      <ActionResult action={copy} />
      <div class='actions'>
        <button type='button' class='button' disabled={!canWrite || action.busy} onClick={() => { void action.run(async () => { await patch({ secret: true }) }, secret === null ? 'Bypass URL created.' : 'Secret rotated: old bypass cookies no longer work.') }}>
          {secret === null ? 'Create bypass URL' : 'Rotate secret'}
        </button>
        {secret !== null && !confirmRemove && <button type='button' class='button danger-outline' disabled={!canWrite || action.busy} onClick={() => { setConfirmRemove(true) }}>Remove bypass URL</button>}
        {secret !== null && confirmRemove && (
          <>
            <button type='button' class='button danger' disabled={!canWrite || action.busy} onClick={() => { setConfirmRemove(false); void action.run(async () => { await patch({ secret: null }) }, 'Bypass URL removed.') }}>Confirm removal</button>
            <button type='button' class='button' onClick={() => { setConfirmRemove(false) }}>Keep it</button>
          </>
        )}
      </div>
      <ActionResult action={action} />
    </Section>
  )
}
