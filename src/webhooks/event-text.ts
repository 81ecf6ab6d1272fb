import type { EventPayload } from '../events.js'

/**
 * The `text` field of a webhook body: one human sentence per event, in Slack's
 * mrkdwn, so a Slack (or Mattermost, Rocket.Chat...) incoming webhook URL works
 * as a target with no glue. Event data comes from the publishers
 * (maintenance-service, flag-service, migration-service); every field is read
 * defensively so a shape change degrades the sentence, never the delivery.
 */

/** Slack asks for exactly these three to be escaped in text. */
function esc (value: unknown): string {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function str (value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

function obj (value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {}
}

function maintenanceText (p: EventPayload): string {
  const m = obj(p.data.maintenance ?? p.data)
  const message = str(m.message)
  const startsAt = str(m.startsAt)
  const endsAt = str(m.endsAt)
  const by = `by ${esc(p.actor)}`
  const quoted = message !== null ? `: "${esc(message)}"` : ''
  const scope = Array.isArray(m.paths) && m.paths.length > 0 ? ` on ${m.paths.map((x) => '`' + esc(x) + '`').join(', ')}` : ''
  const readOnly = m.mode === 'read-only' ? ' Read-only: reads still pass.' : ''
  switch (p.event) {
    case 'maintenance.enabled':
      return `:construction: Maintenance is ON${scope} (${by})${quoted}${endsAt !== null ? `. Expected back at ${esc(endsAt)}` : ''}.${readOnly}`
    case 'maintenance.scheduled': {
      const window = startsAt !== null ? `from ${esc(startsAt)}${endsAt !== null ? ` to ${esc(endsAt)}` : ''}` : endsAt !== null ? `until ${esc(endsAt)}` : 'with no set window'
      return `:calendar: Maintenance scheduled${scope} ${window} (${by})${quoted}.${readOnly}`
    }
    default:
      return `:white_check_mark: Maintenance is OFF (${by}): traffic flows to the application again.`
  }
}

const FLAG_VERBS: Record<string, string> = {
  'flag.create': 'created',
  'flag.replace': 'replaced',
  'flag.update': 'updated',
  'flag.enable': 'enabled',
  'flag.disable': 'disabled',
  'flag.delete': 'deleted'
}

function flagText (p: EventPayload): string {
  const key = '`' + esc(str(p.data.key) ?? '?') + '`'
  const action = str(p.data.action) ?? 'flag.update'
  const by = `by ${esc(p.actor)}`
  const userId = str(p.data.userId)
  if (userId !== null) {
    const override = obj(p.data.override)
    const what = p.data.override === null
      ? 'removed'
      : `set to ${typeof override.variant === 'string' ? '`' + esc(override.variant) + '`' : override.enabled === true ? 'on' : 'off'}`
    return `:triangular_flag_on_post: Flag ${key}: override for user \`${esc(userId)}\` ${what} (${by}).`
  }
  const verb = FLAG_VERBS[action] ?? 'changed'
  const state = verb === 'deleted' || verb === 'enabled' || verb === 'disabled' ? '' : p.data.enabled === true ? ', now on' : p.data.enabled === false ? ', now off' : ''
  return `:triangular_flag_on_post: Flag ${key} ${verb}${state} (${by}).`
}

function migrationText (p: EventPayload): string {
  const run = str(p.data.runId)
  const names = Array.isArray(p.data.migrations) ? p.data.migrations.map((x) => esc(x)).join(', ') : ''
  const list = names !== '' ? `: ${names}` : ''
  const dry = p.data.dryRun === true ? ' (dry run)' : ''
  const subject = `Migration run${run !== null ? ` ${esc(run)}` : ''}${dry}`
  const by = `by ${esc(p.actor)}`
  switch (p.event) {
    case 'migration.started':
      return `:hourglass_flowing_sand: ${subject} started (${by})${list}.`
    case 'migration.succeeded':
      return `:white_check_mark: ${subject} succeeded (${by})${list}.`
    default: {
      const why = str(p.data.error) ?? str(p.data.reason) ?? 'see the run log'
      const where = str(p.data.migration)
      return `:x: ${subject} failed (${by})${where !== null ? ` at ${esc(where)}` : list}: ${esc(why)}.`
    }
  }
}

export function eventText (p: EventPayload): string {
  if (p.event.startsWith('maintenance.')) return maintenanceText(p)
  if (p.event === 'flag.changed') return flagText(p)
  return migrationText(p)
}
