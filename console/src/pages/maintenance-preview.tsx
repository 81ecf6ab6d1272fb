import { useEffect, useState } from 'preact/hooks'
import { apiUrl } from '../api.js'
import { Section } from '../ui.js'

/** How long typing pauses before the preview follows it. */
const DEBOUNCE_MS = 400

/**
 * The page a blocked customer gets, rendered by the gateway's own template
 * code from the current state with the draft laid over it (GET /ui/preview),
 * in a sandboxed frame where its script does not run.
 */
export function PreviewSection (props: { message: string, retryAfter: string, endsAt: string | null }): preact.JSX.Element {
  const query = new URLSearchParams()
  query.set('message', props.message)
  if (/^\d+$/.test(props.retryAfter.trim())) query.set('retryAfter', props.retryAfter.trim())
  query.set('endsAt', props.endsAt ?? '')
  const wanted = apiUrl(`ui/preview?${query.toString()}`)
  // Set only after typing pauses, so the frame loads once per pause (and not for the empty first render).
  const [src, setSrc] = useState<string | null>(null)
  useEffect(() => {
    const timer = setTimeout(() => { setSrc(wanted) }, DEBOUNCE_MS)
    return () => { clearTimeout(timer) }
  }, [wanted])
  return (
    <Section title='Preview' id='m-preview'>
      <p class='hint'>The page as customers will see it, with the message you are typing, the window’s end and Retry-After. Its script does not run here: in a customer’s browser the end shows in their time zone, with a countdown.</p>
      <div class='preview-frame'>
        {src !== null && <iframe title='Maintenance page as customers see it' src={src} sandbox='' referrerpolicy='no-referrer' />}
      </div>
    </Section>
  )
}
