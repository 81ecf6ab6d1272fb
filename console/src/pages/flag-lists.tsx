import type { Flag } from '../types.js'
import { OPERATORS, shares, type FlagDraft, type PrerequisiteDraft, type RuleDraft, type VariantDraft } from './flag-draft.js'

function replace<T> (list: T[], index: number, patch: Partial<T>): T[] {
  return list.map((item, i) => i === index ? { ...item, ...patch } : item)
}

/** What a rule or a prerequisite serves: on, off, or one of the flag's variants. */
function ServesOptions (props: { variants: string[] }): preact.JSX.Element {
  return (
    <>
      <option value='on'>on</option>
      <option value='off'>off</option>
      {props.variants.filter((v) => v !== '').map((v) => <option key={v} value={`variant:${v}`}>variant {v}</option>)}
    </>
  )
}

export function VariantsEditor (props: { idPrefix: string, variants: VariantDraft[], onChange: (v: VariantDraft[]) => void }): preact.JSX.Element {
  const { variants, onChange } = props
  const share = shares(variants)
  const id = (i: number, name: string): string => `${props.idPrefix}variant-${i}-${name}`
  return (
    <fieldset class='group'>
      <legend>Variants</legend>
      <p class='hint'>Users the flag is on for are split between variants by weight, always the same way for the same user. None: the flag is just on or off.</p>
      {variants.length > 0 && (
        <ol class='rows'>
          {variants.map((v, i) => (
            <li key={i} class='row'>
              <span class='row-field'>
                <label for={id(i, 'name')}>Variant name</label>
                <input id={id(i, 'name')} type='text' spellcheck={false} value={v.name} onInput={(e) => { onChange(replace(variants, i, { name: e.currentTarget.value })) }} />
              </span>
              <span class='row-field narrow'>
                <label for={id(i, 'weight')}>Weight</label>
                <input id={id(i, 'weight')} type='number' min={0} value={v.weight} aria-describedby={id(i, 'share')} onInput={(e) => { onChange(replace(variants, i, { weight: e.currentTarget.value })) }} />
              </span>
              <span class='share' id={id(i, 'share')}>{share[i]}%</span>
              <span class='row-field'>
                <label for={id(i, 'value')}>Value</label>
                <input id={id(i, 'value')} type='text' spellcheck={false} placeholder='its name' value={v.value} onInput={(e) => { onChange(replace(variants, i, { value: e.currentTarget.value })) }} />
              </span>
              <button type='button' class='button small' onClick={() => { onChange(variants.filter((_, j) => j !== i)) }}>Remove variant {v.name}</button>
            </li>
          ))}
        </ol>
      )}
      <button type='button' class='button small' onClick={() => { onChange([...variants, { name: variants.length === 0 ? 'control' : `variant-${variants.length + 1}`, weight: '50', value: '' }]) }}>Add variant</button>
    </fieldset>
  )
}

export function RulesEditor (props: { idPrefix: string, draft: FlagDraft, variants: string[], onChange: (patch: Partial<FlagDraft>) => void }): preact.JSX.Element {
  const { rules, rulesJson } = props.draft
  const id = (i: number, name: string): string => `${props.idPrefix}rule-${i}-${name}`
  const set = (next: RuleDraft[]): void => { props.onChange({ rules: next }) }
  return (
    <fieldset class='group'>
      <legend>Rules</legend>
      <p class='hint'>Checked in order before the rollout; the first that matches a user’s attribute decides what they get.</p>
      {rules === null
        ? (
          <>
            <label for={id(0, 'json')}>Rules (JSON)</label>
            <textarea id={id(0, 'json')} class='mono' rows={6} value={rulesJson} aria-describedby={id(0, 'json-hint')} onInput={(e) => { props.onChange({ rulesJson: e.currentTarget.value }) }} />
            <p class='hint' id={id(0, 'json-hint')}>These rules combine several conditions, so they are edited as the API’s JSON.</p>
          </>
          )
        : (
          <>
            {rules.length > 0 && (
              <ol class='rows'>
                {rules.map((r, i) => {
                  const kind = OPERATORS.find((o) => o.op === r.op)?.kind
                  return (
                    <li key={i} class='row'>
                      <span class='row-field'>
                        <label for={id(i, 'attribute')}>Attribute</label>
                        <input id={id(i, 'attribute')} type='text' spellcheck={false} placeholder='plan' value={r.attribute} onInput={(e) => { set(replace(rules, i, { attribute: e.currentTarget.value })) }} />
                      </span>
                      <span class='row-field'>
                        <label for={id(i, 'op')}>Condition</label>
                        <select id={id(i, 'op')} value={r.op} onChange={(e) => { set(replace(rules, i, { op: e.currentTarget.value })) }}>
                          {OPERATORS.map((o) => <option key={o.op} value={o.op}>{o.label}</option>)}
                        </select>
                      </span>
                      <span class='row-field'>
                        <label for={id(i, 'values')}>{kind === 'list' ? 'Values (comma-separated)' : kind === 'number' ? 'Number' : 'Version'}</label>
                        <input id={id(i, 'values')} type='text' spellcheck={false} value={r.values} onInput={(e) => { set(replace(rules, i, { values: e.currentTarget.value })) }} />
                      </span>
                      {['startsWith', 'endsWith', 'contains'].includes(r.op) && (
                        <label class='check'><input type='checkbox' checked={r.caseInsensitive} onChange={(e) => { set(replace(rules, i, { caseInsensitive: e.currentTarget.checked })) }} /> Ignore case</label>
                      )}
                      <span class='row-field narrow'>
                        <label for={id(i, 'serves')}>Then</label>
                        <select id={id(i, 'serves')} value={r.serves} onChange={(e) => { set(replace(rules, i, { serves: e.currentTarget.value })) }}>
                          <ServesOptions variants={props.variants} />
                        </select>
                      </span>
                      <button type='button' class='button small' onClick={() => { set(rules.filter((_, j) => j !== i)) }}>Remove rule {i + 1}</button>
                    </li>
                  )
                })}
              </ol>
            )}
            <button type='button' class='button small' onClick={() => { set([...rules, { attribute: '', op: 'in', values: '', caseInsensitive: false, serves: 'on' }]) }}>Add rule</button>
          </>
          )}
    </fieldset>
  )
}

export function PrerequisitesEditor (props: { idPrefix: string, items: PrerequisiteDraft[], flags: Flag[], onChange: (p: PrerequisiteDraft[]) => void }): preact.JSX.Element {
  const { items, onChange } = props
  const id = (i: number, name: string): string => `${props.idPrefix}pre-${i}-${name}`
  const variantsOf = (key: string): string[] => props.flags.find((f) => f.key === key)?.variants?.map((v) => v.name) ?? []
  return (
    <div class='subgroup'>
      <h3 class='h4'>Prerequisites</h3>
      <p class='hint'>Other flags that must evaluate this way for the same user first; otherwise this flag is off.</p>
      {items.length > 0 && (
        <ol class='rows'>
          {items.map((p, i) => (
            <li key={i} class='row'>
              <span class='row-field'>
                <label for={id(i, 'flag')}>Prerequisite flag</label>
                <select id={id(i, 'flag')} value={p.flag} onChange={(e) => { onChange(replace(items, i, { flag: e.currentTarget.value })) }}>
                  {!props.flags.some((f) => f.key === p.flag) && <option value={p.flag}>{p.flag}</option>}
                  {props.flags.map((f) => <option key={f.key} value={f.key}>{f.key}</option>)}
                </select>
              </span>
              <span class='row-field narrow'>
                <label for={id(i, 'serves')}>Must be</label>
                <select id={id(i, 'serves')} value={p.serves} onChange={(e) => { onChange(replace(items, i, { serves: e.currentTarget.value })) }}>
                  <ServesOptions variants={variantsOf(p.flag)} />
                </select>
              </span>
              <button type='button' class='button small' onClick={() => { onChange(items.filter((_, j) => j !== i)) }}>Remove prerequisite {p.flag}</button>
            </li>
          ))}
        </ol>
      )}
      <button type='button' class='button small' disabled={props.flags.length === 0} onClick={() => { onChange([...items, { flag: props.flags[0]?.key ?? '', serves: 'on' }]) }}>Add prerequisite</button>
    </div>
  )
}
