import { useEffect, useRef, useState } from 'preact/hooks'
import { ApiError, call, problem } from '../api.js'
import type { SessionInfo } from '../types.js'
import { Notice } from '../ui.js'

/**
 * Sign-in with an admin or read token. The token goes to the server once and
 * is never kept in the page: the server answers with an HttpOnly session
 * cookie. The field is a text box (its role is `textbox`) masked by CSS, with
 * a button to show what was pasted.
 */
export function SignIn (props: { notice: string | null, onSignedIn: (s: SessionInfo) => void }): preact.JSX.Element {
  const [token, setToken] = useState('')
  const [shown, setShown] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => { input.current?.focus() }, [])
  return (
    <main id='main' class='signin'>
      <form
        class='card signin-card'
        aria-labelledby='signin-title'
        onSubmit={(e) => {
          e.preventDefault()
          setBusy(true)
          setError(null)
          call<SessionInfo>('POST', 'ui/session', { body: { token: token.trim() }, signIn: true })
            .then((res) => { setToken(''); if (res.data !== null) props.onSignedIn(res.data) })
            .catch((err: unknown) => {
              setError(err instanceof ApiError && err.status === 401 ? 'This token is not one this gateway knows. Check it and try again.' : problem(err))
              input.current?.focus()
            })
            .finally(() => { setBusy(false) })
        }}
      >
        <p class='brand brand-large'><span class='brand-mark' aria-hidden='true' />Drawbridge</p>
        <h1 id='signin-title'>Operator console</h1>
        <p class='hint'>Sign in with an admin token, or a read token to look without changing anything.</p>
        {props.notice !== null && <Notice kind='info'>{props.notice}</Notice>}
        <div class='field'>
          <label for='token'>Token</label>
          <div class='with-button'>
            <input
              ref={input} id='token' name='token' type='text' class={shown ? 'mono' : 'mono masked'} required
              autoComplete='off' autoCapitalize='off' spellcheck={false} value={token} aria-invalid={error !== null}
              aria-describedby={error !== null ? 'token-error' : undefined}
              onInput={(e) => { setToken(e.currentTarget.value) }}
            />
            <button type='button' class='button small' aria-pressed={shown} onClick={() => { setShown(!shown) }}>{shown ? 'Hide' : 'Show'}</button>
          </div>
          {error !== null && <p class='field-error' id='token-error' role='alert'>{error}</p>}
        </div>
        <button type='submit' class='button primary wide' disabled={busy || token.trim() === ''}>Sign in</button>
      </form>
    </main>
  )
}
