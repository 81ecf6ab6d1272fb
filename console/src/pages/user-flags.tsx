import { useState } from 'preact/hooks'
import { get } from '../api.js'
import type { ResolvedFlag } from '../types.js'
import { ActionResult, Field, Section, TableWrap, useAction } from '../ui.js'

/** `name=value` lines → query parameters (the user's context attributes). */
function attributes (text: string): URLSearchParams {
  const params = new URLSearchParams()
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=')
    if (eq > 0) params.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim())
  }
  return params
}

function valueText (v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v)
}

/** Every flag as one user gets it right now, and why (GET /v1/users/:id/flags). */
export function UserFlagsSection (): preact.JSX.Element {
  const [userId, setUserId] = useState('')
  const [context, setContext] = useState('')
  const [result, setResult] = useState<{ userId: string, flags: ResolvedFlag[] } | null>(null)
  const look = useAction()
  return (
    <Section title='One user’s flags' id='user-flags'>
      <form
        class='inline-form'
        onSubmit={(e) => {
          e.preventDefault()
          const query = attributes(context).toString()
          void look.run(async () => {
            setResult(await get<{ userId: string, flags: ResolvedFlag[] }>(`v1/users/${encodeURIComponent(userId.trim())}/flags${query === '' ? '' : `?${query}`}`))
          })
        }}
      >
        <Field id='uf-user' label='User to inspect' hint='The targeting key your application sends (a user id).'>
          <input id='uf-user' type='text' spellcheck={false} autoComplete='off' maxLength={256} value={userId} aria-describedby='uf-user-hint' onInput={(e) => { setUserId(e.currentTarget.value) }} />
        </Field>
        <Field id='uf-context' label='Context' hint='Optional, one name=value per line, e.g. plan=pro.'>
          <textarea id='uf-context' rows={2} spellcheck={false} value={context} aria-describedby='uf-context-hint' onInput={(e) => { setContext(e.currentTarget.value) }} />
        </Field>
        <button type='submit' class='button' disabled={look.busy || userId.trim() === ''}>Show resolved flags</button>
      </form>
      <ActionResult action={look} />
      {result !== null && (
        <TableWrap label={`Flags resolved for ${result.userId}`}>
          <table>
            <caption class='visually-hidden'>Flags resolved for {result.userId}</caption>
            <thead><tr><th scope='col'>Flag</th><th scope='col'>On</th><th scope='col'>Variant</th><th scope='col'>Value</th><th scope='col'>Why</th><th scope='col'>Override</th></tr></thead>
            <tbody>
              {result.flags.map((f) => (
                <tr key={f.key}>
                  <th scope='row'><code>{f.key}</code></th>
                  <td>{f.enabled ? 'on' : 'off'}</td>
                  <td>{f.variant}</td>
                  <td><code>{valueText(f.value)}</code></td>
                  <td>{f.reason}{f.errorCode !== undefined ? ` (${f.errorCode})` : ''}</td>
                  <td>{f.hasOverride ? 'yes' : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Section>
  )
}
