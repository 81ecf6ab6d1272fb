import { useEffect, useRef, useState } from 'preact/hooks'

export interface Draft<D> {
  value: D
  /** The operator changed something since it was last taken from the server. */
  dirty: boolean
  /** The server's copy changed while the operator was editing. */
  stale: boolean
  set: (patch: Partial<D>) => void
  /** Back to the server's current copy. */
  reset: () => void
}

/**
 * A form's working copy of a server resource. While the operator has not
 * touched it, it follows the server (a change made elsewhere shows at once);
 * once touched, it keeps the operator's edits and says the server moved on,
 * rather than overwriting what is being typed.
 */
export function useDraft<S, D> (source: S | null, toDraft: (s: S) => D, empty: D): Draft<D> {
  const [value, setValue] = useState<D>(source === null ? empty : toDraft(source))
  const [dirty, setDirty] = useState(false)
  const [stale, setStale] = useState(false)
  const seen = useRef<S | null>(source)
  // Read by the effect below, which Preact runs after paint: an edit made in
  // between (a field filled just as the server's copy arrived) is not in that
  // render's `dirty` yet, and the server's copy would replace it.
  const touched = useRef(false)

  useEffect(() => {
    if (source === null || source === seen.current) return
    seen.current = source
    if (touched.current) {
      setStale(true)
      return
    }
    setValue(toDraft(source))
  }, [source])

  return {
    value,
    dirty,
    stale,
    set: (patch) => {
      touched.current = true
      setValue((v) => ({ ...v, ...patch }))
      setDirty(true)
    },
    reset: () => {
      touched.current = false
      if (seen.current !== null) setValue(toDraft(seen.current))
      setDirty(false)
      setStale(false)
    }
  }
}

/** `2026-11-22T03:00:00Z` → the `datetime-local` value for the browser's time zone. */
export function toLocalInput (iso: string | null): string {
  if (iso === null) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** A `datetime-local` value (the browser's time zone) → ISO, or null when empty. */
export function fromLocalInput (value: string): string | null {
  if (value.trim() === '') return null
  const d = new Date(value)
  return Number.isNaN(d.getTime()) ? value : d.toISOString()
}
