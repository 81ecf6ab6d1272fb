import { errors } from '../errors.js'

/**
 * Runs tasks one after the other, in the order they were queued; a task that
 * fails does not stop the ones behind it. The stores serialise their own
 * writers with it, so two writes of one process never race each other.
 */
export class TaskChain {
  private tail: Promise<unknown> = Promise.resolve()
  private closed = false

  /** Queues `task`; rejects at once (503) once the chain is closed. */
  run<T> (task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE('store closed'))
    const run = this.tail.then(task, task)
    this.tail = run.catch(() => {})
    return run
  }

  /** Refuses new tasks and resolves when the queued ones have finished. */
  async close (): Promise<void> {
    this.closed = true
    await this.tail
  }
}
