/**
 * A set of listeners told of each new value in turn. A listener that throws
 * is reported through `onError` and does not stop the others nor reach the
 * caller: what is being published has already happened.
 */
export class Listeners<T> {
  private readonly set = new Set<(value: T) => void>()

  constructor (private readonly onError: (err: unknown, value: T) => void) {}

  /** Adds `listener`; the returned function removes it. */
  add (listener: (value: T) => void): () => void {
    this.set.add(listener)
    return () => { this.set.delete(listener) }
  }

  emit (value: T): void {
    for (const listener of this.set) this.call(listener, value)
  }

  /** Calls one listener the same way (a new subscriber told the current value). */
  call (listener: (value: T) => void, value: T): void {
    try {
      listener(value)
    } catch (err) {
      this.onError(err, value)
    }
  }

  clear (): void {
    this.set.clear()
  }
}
