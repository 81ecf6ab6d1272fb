import { EventEmitter } from 'node:events'

/**
 * Domain events, emitted after a change is committed to the store. Webhooks,
 * metrics and logs listen here so the code that makes a change never waits on
 * who is told about it.
 */
export type DrawbridgeEvent =
  | 'maintenance.enabled'
  | 'maintenance.disabled'
  | 'maintenance.scheduled'
  | 'flag.changed'
  | 'migration.started'
  | 'migration.succeeded'
  | 'migration.failed'

export interface EventPayload {
  event: DrawbridgeEvent
  at: string
  actor: string
  data: Record<string, unknown>
}

export class DrawbridgeEvents extends EventEmitter {
  publish (event: DrawbridgeEvent, actor: string, data: Record<string, unknown>): void {
    const payload: EventPayload = { event, at: new Date().toISOString(), actor, data }
    this.emit('event', payload)
  }

  onEvent (listener: (payload: EventPayload) => void): () => void {
    this.on('event', listener)
    return () => { this.off('event', listener) }
  }
}
