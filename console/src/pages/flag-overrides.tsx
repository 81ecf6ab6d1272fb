import { useState } from 'preact/hooks'
import { call, get } from '../api.js'
import { useLive } from '../live.js'
import type { Flag, Override } from '../types.js'
import { ActionResult, Field, Notice, RemovableList, useAction, useCanWrite } from '../ui.js'

function describe (o: Override): string {
  if (o.variant !== undefined) return `variant ${o.variant}`
  return o.enabled === false ? 'off' : 'on'
}

/** Per-user overrides of one flag: they win over rules and rollout for that user. */
export function OverridesPanel (props: { flag: Flag }): preact.JSX.Element {
  const canWrite = useCanWrite()
  const { key } = props.flag
  const path = `v1/flags/${encodeURIComponent(key)}/overrides`
  const live = useLive(async () => (await get<{ overrides: Override[] }>(path)).overrides, 10_000, [key])
  const [userId, setUserId] = useState('')
  const [value, setValue] = useState('on')
  const set = useAction()
  const id = `f-${key}-override`
  const variants = props.flag.variants?.map((v) => v.name) ?? []
  return (
    <section class='subgroup' aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`} class='h4'>Overrides</h3>
      <p class='hint'>One user gets this value whatever the rules and rollout say: a tester, a customer with a problem.</p>
      {live.error !== null && <Notice kind='error'>{live.error}</Notice>}
      {live.data !== null && live.data.length === 0 && <p class='muted'>No overrides.</p>}
      {live.data !== null && live.data.length > 0 && (
        <RemovableList
          label={`Overrides of ${key}`} items={live.data} keyOf={(o) => o.userId}
          render={(o) => <span><code>{o.userId}</code> gets {describe(o)}</span>}
          removeLabel={(o) => `Remove override for ${o.userId}`}
          onRemove={async (o) => { await call('DELETE', `${path}/${encodeURIComponent(o.userId)}`); await live.reload() }}
        />
      )}
      <form
        class='inline-form'
        onSubmit={(e) => {
          e.preventDefault()
          const body = value.startsWith('variant:') ? { variant: value.slice('variant:'.length) } : { enabled: value === 'on' }
          void set.run(async () => {
            await call('PUT', `${path}/${encodeURIComponent(userId.trim())}`, { body })
            setUserId('')
            await live.reload()
          }, `Override set for ${userId.trim()}.`)
        }}
      >
        <fieldset disabled={!canWrite} class='plain inline-form'>
          <legend class='visually-hidden'>New override</legend>
          <Field id={`${id}-user`} label='Override user id'>
            <input id={`${id}-user`} type='text' spellcheck={false} autoComplete='off' maxLength={256} value={userId} onInput={(e) => { setUserId(e.currentTarget.value) }} />
          </Field>
          <Field id={`${id}-value`} label='Gets'>
            <select id={`${id}-value`} value={value} onChange={(e) => { setValue(e.currentTarget.value) }}>
              <option value='on'>on</option>
              <option value='off'>off</option>
              {variants.map((v) => <option key={v} value={`variant:${v}`}>variant {v}</option>)}
            </select>
          </Field>
          <button type='submit' class='button' disabled={set.busy || userId.trim() === ''}>Set override</button>
        </fieldset>
      </form>
      <ActionResult action={set} />
    </section>
  )
}
