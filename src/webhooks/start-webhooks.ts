import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { recordAudit } from '../state/audit.js'
import { redactSecrets } from '../state/redact.js'
import type { WebhookConfig } from '../config/schema.js'
import type { AppContext } from '../context.js'
import { ConfigError } from '../errors.js'
import type { DrawbridgeEvent, EventPayload } from '../events.js'
import { Counter } from '../metrics.js'
import { WebhookDispatcher, type DeliveryOutcome, type DispatcherOptions } from './dispatcher.js'
import { eventText } from './event-text.js'
import { signBody } from './signature.js'

/**
 * Tells the outside world about changes: every domain event on ctx.events is
 * POSTed to each configured webhook that subscribed to it, signed when the
 * webhook has a secret, with a Slack-ready `text`. Publishing stays
 * synchronous and cheap for the admin request that made the change; delivery
 * and its audit entry happen later, on the dispatcher's own schedule.
 */

export const WEBHOOK_DELIVERIES_METRIC = 'drawbridge_webhook_deliveries_total'

/** Written as the actor of webhook audit entries: the gateway itself, not the operator. */
const SYSTEM_ACTOR = 'drawbridge'

const USER_AGENT = `drawbridge-webhooks/${packageVersion()}`

function packageVersion (): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
    return pkg.version ?? '0'
  } catch {
    return '0'
  }
}

export const WEBHOOK_EVENTS: readonly DrawbridgeEvent[] = [
  'maintenance.enabled', 'maintenance.disabled', 'maintenance.scheduled',
  'flag.changed',
  'migration.started', 'migration.succeeded', 'migration.failed'
]

/** `*` for everything, an exact event name, or a family such as `maintenance.*`. */
export function subscribes (events: readonly string[], event: string): boolean {
  return events.some((e) => e === '*' || e === event || (e.endsWith('.*') && event.startsWith(e.slice(0, -1))))
}

/** A misspelt event name would silently never fire: refuse it at startup instead. */
export function checkWebhooks (hooks: readonly WebhookConfig[]): void {
  hooks.forEach((hook, i) => {
    for (const pattern of hook.events) {
      if (!WEBHOOK_EVENTS.some((e) => subscribes([pattern], e))) {
        throw new ConfigError(`webhooks[${i}].events`, `"${pattern}" matches no event; use "*", a family such as "maintenance.*", or one of ${WEBHOOK_EVENTS.join(', ')}`)
      }
    }
    let url: URL
    try {
      url = new URL(hook.url)
    } catch {
      throw new ConfigError(`webhooks[${i}].url`, 'is not a URL')
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`webhooks[${i}].url`, 'must use http or https')
  })
}

/** Origin only: a Slack incoming-webhook URL carries its credential in the path. */
function printable (url: string): string {
  try {
    return new URL(url).origin
  } catch {
    return '(invalid url)'
  }
}

/** The JSON body every webhook receives; `data` has secrets redacted before it leaves the process. */
export function webhookBody (payload: EventPayload): string {
  const data = redactSecrets(payload.data) as Record<string, unknown>
  return JSON.stringify({ event: payload.event, at: payload.at, actor: payload.actor, data, text: eventText({ ...payload, data }) })
}

export interface WebhooksHandle {
  close (): Promise<void>
}

/**
 * Subscribes to ctx.events and returns the handle to close on shutdown. Throws
 * ConfigError for a webhook whose URL or event list cannot work, so call it
 * before listening.
 */
export function startWebhooks (
  ctx: AppContext,
  tuning: Partial<Omit<DispatcherOptions, 'logger' | 'onOutcome' | 'onDrop'>> = {}
): WebhooksHandle & { drained (): Promise<void> } {
  const hooks: readonly WebhookConfig[] = ctx.config.webhooks
  checkWebhooks(hooks)
  if (hooks.length === 0) return { close: async () => {}, drained: async () => {} }

  const logger = ctx.logger.child({ component: 'webhooks' })
  const deliveries = ctx.metrics.add(new Counter(WEBHOOK_DELIVERIES_METRIC,
    'Webhook deliveries by outcome: delivered, failed (after the last retry), dropped (queue full or shutting down).'))
  const delivered = deliveries.labels({ outcome: 'delivered' })
  const failed = deliveries.labels({ outcome: 'failed' })
  const dropped = deliveries.labels({ outcome: 'dropped' })

  const audits = new Set<Promise<void>>()
  const onOutcome = (o: DeliveryOutcome): void => {
    if (o.ok) delivered.inc()
    else failed.inc()
    const audit = recordAudit(ctx, {
      actor: SYSTEM_ACTOR,
      action: o.ok ? 'webhook.delivered' : 'webhook.failed',
      target: `webhooks[${o.delivery.hook}] ${o.delivery.target}`,
      before: null,
      after: { event: o.delivery.event, delivery: o.delivery.id, attempts: o.attempts, status: o.status, error: o.error }
    })
    audits.add(audit)
    void audit.finally(() => audits.delete(audit))
  }

  const dispatcher = new WebhookDispatcher({ ...tuning, logger, onOutcome, onDrop: () => { dropped.inc() } })

  const unsubscribe = ctx.events.onEvent((payload) => {
    try {
      let body: string | null = null
      for (let i = 0; i < hooks.length; i++) {
        const hook = hooks[i] as WebhookConfig
        if (!subscribes(hook.events, payload.event)) continue
        body ??= webhookBody(payload)
        const id = randomUUID()
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'x-drawbridge-event': payload.event,
          'x-drawbridge-delivery': id
        }
        if (hook.secret !== undefined) headers['x-drawbridge-signature'] = signBody(hook.secret, body)
        dispatcher.enqueue({ id, hook: i, url: hook.url, target: printable(hook.url), event: payload.event, headers, body })
      }
    } catch (err) {
      // The publisher is an admin request that already committed its change: never throw into it.
      logger.error({ err, event: payload.event }, 'webhook enqueue failed')
    }
  })

  logger.info({ webhooks: hooks.map((h, i) => ({ index: i, target: printable(h.url), events: h.events, signed: h.secret !== undefined })) }, 'webhooks enabled')

  return {
    drained: async () => {
      await dispatcher.drained()
      await Promise.all([...audits])
    },
    close: async () => {
      unsubscribe()
      await dispatcher.close()
      await Promise.all([...audits])
    }
  }
}
