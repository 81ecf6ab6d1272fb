import { render } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { call, onSignedOut, problem, setCsrfToken } from './api.js'
import { startChangeStream, stopChangeStream } from './live.js'
import { AuditPage } from './pages/audit.js'
import { FlagsPage } from './pages/flags.js'
import { MaintenancePage } from './pages/maintenance.js'
import { MigrationsPage } from './pages/migrations.js'
import { SignIn } from './pages/sign-in.js'
import { UpstreamsPage } from './pages/upstreams.js'
import type { SessionInfo } from './types.js'
import { SessionContext } from './ui.js'
import './styles.css'

const ROUTES = [
  { path: 'maintenance', label: 'Maintenance', Page: MaintenancePage },
  { path: 'flags', label: 'Flags', Page: FlagsPage },
  { path: 'migrations', label: 'Migrations', Page: MigrationsPage },
  { path: 'upstreams', label: 'Upstreams', Page: UpstreamsPage },
  { path: 'audit', label: 'Audit', Page: AuditPage }
] as const
type RoutePath = typeof ROUTES[number]['path']

/** `#/flags` → 'flags'; anything else keeps the current page (in-page anchors) or starts on Maintenance. */
function routeOf (hash: string, current: RoutePath = 'maintenance'): RoutePath {
  if (!hash.startsWith('#/')) return current
  const wanted = hash.slice(2).split('/')[0]
  return ROUTES.find((r) => r.path === wanted)?.path ?? 'maintenance'
}

function useRoute (): RoutePath {
  const [route, setRoute] = useState<RoutePath>(routeOf(location.hash))
  useEffect(() => {
    const onHash = (): void => { setRoute((current) => routeOf(location.hash, current)) }
    window.addEventListener('hashchange', onHash)
    return () => { window.removeEventListener('hashchange', onHash) }
  }, [])
  return route
}

function Shell (props: { session: SessionInfo, onSignOut: () => void }): preact.JSX.Element {
  const route = useRoute()
  const current = ROUTES.find((r) => r.path === route) ?? ROUTES[0]
  const { session } = props
  useEffect(() => {
    document.title = `${current.label} · Drawbridge`
    // A new page is announced by moving focus to its heading (screen readers read it out).
    if (document.activeElement !== document.body && document.activeElement !== null && !(document.activeElement as HTMLElement).closest('nav')) return
    requestAnimationFrame(() => { document.getElementById('page-title')?.focus({ preventScroll: true }) })
  }, [route])
  const Page = current.Page
  return (
    <SessionContext.Provider value={session}>
      <a
        class='skip' href='#main'
        onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus() }}
      >Skip to content
      </a>
      <header class='top'>
        <span class='brand'><span class='brand-mark' aria-hidden='true' />Drawbridge</span>
        <nav aria-label='Console'>
          <ul>
            {ROUTES.map((r) => (
              <li key={r.path}><a href={`#/${r.path}`} aria-current={r.path === route ? 'page' : undefined}>{r.label}</a></li>
            ))}
          </ul>
        </nav>
        <div class='who'>
          <span class='who-name'>{session.open ? 'Open API (no token)' : session.actor}</span>
          <span class={`tag role-${session.role}`}>{session.role === 'admin' ? 'admin' : 'read-only'}</span>
          {!session.open && <button type='button' class='button small' onClick={props.onSignOut}>Sign out</button>}
        </div>
      </header>
      {session.role !== 'admin' && <p class='readonly-banner' role='note'>Read-only: this token can look at everything and change nothing.</p>}
      <main id='main' tabIndex={-1}>
        <Page />
      </main>
      <footer class='foot'>Drawbridge {session.version} · changes made elsewhere show here within seconds</footer>
    </SessionContext.Provider>
  )
}

type AppState = { phase: 'loading' } | { phase: 'signed-out', notice: string | null } | { phase: 'in', session: SessionInfo }

function App (): preact.JSX.Element {
  const [state, setState] = useState<AppState>({ phase: 'loading' })
  // Signed in and not signing out: only then does a 401 mean the session ended under us. A view's
  // re-read still in flight when the operator signs out answers 401 too, and must not replace
  // "Signed out." with "Your session ended."
  const live = useRef(false)
  const enter = (session: SessionInfo): void => {
    setCsrfToken(session.csrf)
    startChangeStream()
    live.current = true
    setState({ phase: 'in', session })
  }
  const leave = (notice: string | null): void => {
    live.current = false
    setCsrfToken(null)
    stopChangeStream()
    setState({ phase: 'signed-out', notice })
  }
  useEffect(() => {
    call<SessionInfo>('GET', 'ui/session', { signIn: true })
      .then((res) => { if (res.data !== null) enter(res.data) })
      .catch((err: unknown) => { leave((err as { status?: number }).status === 401 ? null : problem(err)) })
    return onSignedOut(() => { if (live.current) leave('Your session ended. Sign in again.') })
  }, [])

  if (state.phase === 'loading') return <main id='main' class='signin'><p aria-busy='true'>Loading…</p></main>
  if (state.phase === 'signed-out') return <SignIn notice={state.notice} onSignedIn={enter} />
  return (
    <Shell
      session={state.session}
      onSignOut={() => {
        live.current = false
        call('DELETE', 'ui/session').catch(() => {}).finally(() => { leave('Signed out.') })
      }}
    />
  )
}

const root = document.getElementById('app')
if (root !== null) render(<App />, root)
else document.body.append('The console could not start.')
