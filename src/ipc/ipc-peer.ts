import { randomBytes } from 'node:crypto'

/**
 * Requests, replies and one-way pushes over a Node IPC channel (a cluster
 * worker's `process`, the primary's `Worker`, a forked child). Both ends run
 * the same class: workers ask the primary (state, metrics of every worker),
 * the primary asks workers (their metrics) and pushes state to them. Messages
 * are plain JSON (the channel's default serialisation) tagged so they never
 * mix with the ready message or anything else on the channel.
 */

/** The two calls this needs from `process`, a cluster `Worker` or a `ChildProcess`. */
export interface IpcChannel {
  send (message: unknown, callback: (err: Error | null) => void): unknown
  on (event: 'message', listener: (message: unknown) => void): unknown
  off (event: 'message', listener: (message: unknown) => void): unknown
}

const TAG = 'drawbridge-ipc'

interface RequestMessage { tag: typeof TAG, kind: 'request', id: string, method: string, params: unknown }
interface ReplyMessage { tag: typeof TAG, kind: 'reply', id: string, ok: boolean, result?: unknown, error?: WireError }
interface PushMessage { tag: typeof TAG, kind: 'push', topic: string, data: unknown }
type Message = RequestMessage | ReplyMessage | PushMessage

/** An error as it crosses the channel: enough for the admin API to answer with the right code. */
export interface WireError { message: string, code?: string, statusCode?: number }

export type Handler = (params: unknown) => unknown

interface Pending { resolve: (value: unknown) => void, reject: (err: Error) => void, timer: NodeJS.Timeout }

function isMessage (value: unknown): value is Message {
  return typeof value === 'object' && value !== null && (value as { tag?: unknown }).tag === TAG
}

function toWire (err: unknown): WireError {
  const e = err as { message?: unknown, code?: unknown, statusCode?: unknown }
  const wire: WireError = { message: typeof e?.message === 'string' ? e.message : String(err) }
  if (typeof e?.code === 'string') wire.code = e.code
  if (typeof e?.statusCode === 'number') wire.statusCode = e.statusCode
  return wire
}

/** The far side's error, rebuilt with its code and status so error handlers treat it as if thrown here. */
export class RemoteError extends Error {
  readonly code: string | undefined
  readonly statusCode: number | undefined
  constructor (wire: WireError) {
    super(wire.message)
    this.name = 'RemoteError'
    this.code = wire.code
    this.statusCode = wire.statusCode
  }
}

/** The channel is gone or the far side did not answer in time. */
export class IpcUnavailableError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'IpcUnavailableError'
  }
}

export class IpcPeer {
  private readonly handlers = new Map<string, Handler>()
  private readonly topics = new Map<string, (data: unknown) => void>()
  private readonly pending = new Map<string, Pending>()
  /** Ids are unique per peer, not per channel, so several peers may share one channel (tests do). */
  private readonly idPrefix = randomBytes(6).toString('hex') + ':'
  private nextId = 1
  private closed = false
  private readonly onMessage = (message: unknown): void => { this.receive(message) }

  constructor (private readonly channel: IpcChannel) {
    channel.on('message', this.onMessage)
  }

  /** Answers `method` requests from the far side; the handler's value (or error) is the reply. */
  handle (method: string, handler: Handler): void {
    this.handlers.set(method, handler)
  }

  /** Receives `topic` pushes from the far side. */
  onPush (topic: string, listener: (data: unknown) => void): void {
    this.topics.set(topic, listener)
  }

  request (method: string, params: unknown, timeoutMs: number): Promise<unknown> {
    if (this.closed) return Promise.reject(new IpcUnavailableError('channel closed'))
    const id = this.idPrefix + String(this.nextId++)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new IpcUnavailableError(`no answer to ${method} within ${timeoutMs} ms`))
      }, timeoutMs)
      timer.unref()
      this.pending.set(id, { resolve, reject, timer })
      this.send({ tag: TAG, kind: 'request', id, method, params }, (err) => { this.settle(id, undefined, new IpcUnavailableError(`channel closed (${err.message})`)) })
    })
  }

  push (topic: string, data: unknown): void {
    if (!this.closed) this.send({ tag: TAG, kind: 'push', topic, data }, () => {})
  }

  /** Stops listening and fails every request still waiting (the far side died). */
  close (reason = 'channel closed'): void {
    if (this.closed) return
    this.closed = true
    this.channel.off('message', this.onMessage)
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, new IpcUnavailableError(reason))
  }

  private send (message: Message, onError: (err: Error) => void): void {
    try {
      this.channel.send(message, (err) => { if (err !== null && err !== undefined) onError(err) })
    } catch (err) {
      // A channel already closed throws synchronously on some paths.
      onError(err as Error)
    }
  }

  private settle (id: string, value: unknown, err: Error | null): void {
    const entry = this.pending.get(id)
    if (entry === undefined) return
    this.pending.delete(id)
    clearTimeout(entry.timer)
    if (err === null) entry.resolve(value)
    else entry.reject(err)
  }

  private receive (message: unknown): void {
    if (!isMessage(message)) return
    if (message.kind === 'reply') {
      this.settle(message.id, message.result, message.ok ? null : new RemoteError(message.error ?? { message: 'remote error' }))
    } else if (message.kind === 'push') {
      this.topics.get(message.topic)?.(message.data)
    } else {
      void this.answer(message)
    }
  }

  private async answer (request: RequestMessage): Promise<void> {
    const handler = this.handlers.get(request.method)
    let reply: ReplyMessage
    try {
      if (handler === undefined) throw new Error(`no handler for ${request.method}`)
      reply = { tag: TAG, kind: 'reply', id: request.id, ok: true, result: await handler(request.params) }
    } catch (err) {
      reply = { tag: TAG, kind: 'reply', id: request.id, ok: false, error: toWire(err) }
    }
    // The far side may be gone by now: nobody is left to tell.
    if (!this.closed) this.send(reply, () => {})
  }
}

/** This process's channel to its parent (a cluster worker's to the primary). */
export function parentChannel (): IpcChannel {
  return {
    send: (message, callback) => {
      if (process.send === undefined) callback(new Error('no IPC channel'))
      else process.send(message, undefined, undefined, callback)
    },
    on: (event, listener) => process.on(event, listener),
    off: (event, listener) => process.off(event, listener)
  }
}

interface ChildLike {
  send (message: never, callback: (err: Error | null) => void): boolean
  on (event: 'message', listener: (message: unknown) => void): unknown
  off (event: 'message', listener: (message: unknown) => void): unknown
}

/** The channel to a child: a cluster Worker or a forked ChildProcess. */
export function childChannel (child: ChildLike): IpcChannel {
  return {
    send: (message, callback) => child.send(message as never, callback),
    on: (event, listener) => child.on(event, listener),
    off: (event, listener) => child.off(event, listener)
  }
}
