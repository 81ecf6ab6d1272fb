import { useCallback, useEffect, useRef, useState } from 'preact/hooks'
import { apiUrl, problem } from './api.js'

/**
 * Live updates. One EventSource on /ui/events tells the console whenever the
 * shared state changes (a write here, the CLI, another replica) or a
 * migration run starts or ends; every view then re-reads what it shows. Views
 * also re-read on a timer, for what is not state (upstream health, runs) and
 * in case the stream is down.
 */
const CHANGE = 'drawbridge:change'
let source: EventSource | null = null
let wanted = false

const changed = (): void => { window.dispatchEvent(new Event(CHANGE)) }

function open (): void {
  if (source !== null) return
  source = new EventSource(apiUrl('ui/events'), { withCredentials: true })
  source.addEventListener('state', changed)
  source.addEventListener('activity', changed)
}

function close (): void {
  source?.close()
  source = null
}

/*
 * A browser keeps at most six HTTP/1.1 connections per host, and each open
 * stream holds one: a console tab in the background lets its stream go and
 * catches up (re-reads) when it is shown again.
 */
document.addEventListener('visibilitychange', () => {
  if (!wanted) return
  if (document.visibilityState === 'hidden') {
    close()
    return
  }
  open()
  changed()
})

export function startChangeStream (): void {
  wanted = true
  if (document.visibilityState !== 'hidden') open()
}

export function stopChangeStream (): void {
  wanted = false
  close()
}

export interface Live<T> {
  data: T | null
  error: string | null
  /** Re-reads now (after a change made here). */
  reload: () => Promise<void>
}

/**
 * `load` now, on every change the stream reports, and every `everyMs`.
 * `load` may answer `undefined` to keep what is shown (a 304).
 */
export function useLive<T> (load: () => Promise<T | undefined>, everyMs: number, deps: unknown[] = []): Live<T> {
  const [data, setData] = useState<T | null>(null)
  const [error, setError] = useState<string | null>(null)
  const loadRef = useRef(load)
  loadRef.current = load
  const running = useRef<Promise<void> | null>(null)
  const again = useRef(false)

  const reload = useCallback(async (): Promise<void> => {
    // One read at a time; a change during a read asks for one more after it.
    if (running.current !== null) {
      again.current = true
      return await running.current
    }
    running.current = (async () => {
      do {
        again.current = false
        try {
          const next = await loadRef.current()
          if (next !== undefined) setData(next)
          setError(null)
        } catch (err) {
          setError(problem(err))
        }
      } while (again.current)
    })()
    try {
      await running.current
    } finally {
      running.current = null
    }
  }, [])

  const mounted = useRef(false)
  useEffect(() => {
    // Other deps: what is shown belongs to the old ones (another filter); show nothing until the new answer.
    if (mounted.current) setData(null)
    mounted.current = true
    void reload()
    const onChange = (): void => { void reload() }
    window.addEventListener(CHANGE, onChange)
    const timer = setInterval(onChange, everyMs)
    return () => {
      window.removeEventListener(CHANGE, onChange)
      clearInterval(timer)
    }
  }, deps)

  return { data, error, reload }
}
