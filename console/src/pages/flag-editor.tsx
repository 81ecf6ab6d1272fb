import { useRef, useState } from 'preact/hooks'
import { call } from '../api.js'
import { useDraft } from '../draft.js'
import { useLive } from '../live.js'
import type { Flag } from '../types.js'
import { ActionResult, Field, Notice, Time, useAction, useCanWrite } from '../ui.js'
import { flagPatch, toFlagDraft } from './flag-draft.js'
import { PrerequisitesEditor, RulesEditor, VariantsEditor } from './flag-lists.js'
import { OverridesPanel } from './flag-overrides.js'

/**
 * Everything about one flag: description, rollout, variants, rules, gate,
 * `requires` and prerequisites in one form saved with If-Match (a change
 * made meanwhile elsewhere is not overwritten), then its per-user overrides
 * and its deletion.
 */
export function FlagEditor (props: { flag: Flag, allFlags: Flag[], onChanged: () => Promise<void>, onDeleted: () => Promise<void> }): preact.JSX.Element {
  const canWrite = useCanWrite()
  const key = props.flag.key
  const path = `v1/flags/${encodeURIComponent(key)}`
  const etag = useRef<string | null>(null)
  const live = useLive(async () => {
    const res = await call<Flag>('GET', path)
    etag.current = res.etag
    return res.data ?? undefined
  }, 10_000, [key])
  const flag = live.data ?? props.flag
  const draft = useDraft(live.data, toFlagDraft, toFlagDraft(props.flag))
  const save = useAction()
  const remove = useAction()
  const [confirmDelete, setConfirmDelete] = useState(false)
  const d = draft.value
  const id = (name: string): string => `f-${key}-${name}`
  const rolloutValue = d.rollout === '' ? 100 : Number(d.rollout)

  return (
    <div class='editor'>
      <form
        aria-label={`Settings of ${key}`}
        onSubmit={(e) => {
          e.preventDefault()
          void save.run(async () => {
            await call('PATCH', path, { body: flagPatch(d, toFlagDraft(flag)), ifMatch: etag.current })
            draft.reset()
            await Promise.all([live.reload(), props.onChanged()])
          }, 'Saved.')
        }}
      >
        {live.error !== null && <Notice kind='error'>{live.error}</Notice>}
        {draft.stale && (
          <Notice kind='warn'>This flag was changed elsewhere while you were editing. <button type='button' class='link' onClick={() => { draft.reset() }}>Discard my edits</button></Notice>
        )}
        <fieldset disabled={!canWrite} class='plain'>
          <legend class='visually-hidden'>Settings of {key}</legend>
          <Field id={id('description')} label='Description' wide>
            <textarea id={id('description')} rows={2} value={d.description} onInput={(e) => { draft.set({ description: e.currentTarget.value }) }} />
          </Field>

          <fieldset class='group'>
            <legend>Rollout</legend>
            <p class='hint' id={id('rollout-hint')}>
              {d.rollout === '' ? 'No rollout: on for everyone while the flag is on.' : `On for ${rolloutValue}% of users, always the same ones (by user id).`}
            </p>
            <div class='slider'>
              <label for={id('rollout')}>Rollout percentage</label>
              <input
                id={id('rollout')} type='range' min={0} max={100} step={1} value={rolloutValue} aria-describedby={id('rollout-hint')}
                aria-valuetext={d.rollout === '' ? 'everyone (no rollout)' : `${rolloutValue}%`}
                onInput={(e) => { draft.set({ rollout: e.currentTarget.value }) }}
              />
              <output for={id('rollout')} class='slider-value'>{d.rollout === '' ? 'all' : `${rolloutValue}%`}</output>
            </div>
            <div class='grid'>
              <Field id={id('group')} label='Group id' hint='Flags with the same group id roll out to the same users. Default: the flag’s own name.'>
                <input id={id('group')} type='text' value={d.groupId} aria-describedby={id('group-hint')} onInput={(e) => { draft.set({ groupId: e.currentTarget.value }) }} />
              </Field>
            </div>
            {d.rollout !== '' && <button type='button' class='button small' onClick={() => { draft.set({ rollout: '', groupId: '' }) }}>No rollout (everyone)</button>}
          </fieldset>

          <VariantsEditor idPrefix={id('')} variants={d.variants} onChange={(variants) => { draft.set({ variants }) }} />
          <RulesEditor idPrefix={id('')} draft={d} variants={d.variants.map((v) => v.name)} onChange={(patch) => { draft.set(patch) }} />

          <fieldset class='group'>
            <legend>Gate and requirements</legend>
            <div class='grid'>
              <Field id={id('gate-paths')} label='Gate paths' hint='While the flag is off for a request, these path prefixes answer the status below (one per line).'>
                <textarea id={id('gate-paths')} rows={2} value={d.gatePaths} aria-describedby={id('gate-paths-hint')} onInput={(e) => { draft.set({ gatePaths: e.currentTarget.value }) }} />
              </Field>
              <Field id={id('gate-status')} label='Gate status'>
                <input id={id('gate-status')} type='number' min={400} max={599} value={d.gateStatus} onInput={(e) => { draft.set({ gateStatus: e.currentTarget.value }) }} />
              </Field>
              <Field id={id('requires')} label='Requires migration' hint='The flag cannot be switched on before this migration is applied.'>
                <input id={id('requires')} type='text' spellcheck={false} value={d.requires} aria-describedby={id('requires-hint')} onInput={(e) => { draft.set({ requires: e.currentTarget.value }) }} />
              </Field>
            </div>
            <PrerequisitesEditor idPrefix={id('')} items={d.prerequisites} flags={props.allFlags.filter((f) => f.key !== key)} onChange={(prerequisites) => { draft.set({ prerequisites }) }} />
          </fieldset>

          <div class='actions'>
            <button type='submit' class='button primary' disabled={save.busy || !draft.dirty}>Save flag</button>
            <button type='button' class='button' disabled={!draft.dirty} onClick={() => { draft.reset() }}>Undo edits</button>
          </div>
        </fieldset>
        <ActionResult action={save} />
        <p class='muted small'>Created <Time iso={flag.createdAt} />, changed <Time iso={flag.updatedAt} />.</p>
      </form>

      <OverridesPanel flag={flag} />

      <div class='danger-zone'>
        {!confirmDelete && <button type='button' class='button danger-outline' disabled={!canWrite} onClick={() => { setConfirmDelete(true) }}>Delete flag</button>}
        {confirmDelete && (
          <>
            <p>Delete <code>{key}</code> and its overrides? Code that asks for it gets its default.</p>
            <button type='button' class='button danger' disabled={!canWrite || remove.busy} onClick={() => { void remove.run(async () => { await call('DELETE', path); await props.onDeleted() }) }}>Delete for good</button>
            <button type='button' class='button' onClick={() => { setConfirmDelete(false) }}>Keep it</button>
          </>
        )}
        <ActionResult action={remove} />
      </div>
    </div>
  )
}
