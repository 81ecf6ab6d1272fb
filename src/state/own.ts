/**
 * Lookups in state records keyed by user input (flag keys, user ids). The
 * records are plain objects (they round-trip through JSON), so `record[key]`
 * would find `constructor` or `toString` on Object.prototype, and
 * `record['__proto__'] = v` would replace the prototype instead of storing v.
 * Prototype names are plain data: only own properties count.
 */
export function own<T> (record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined
}

export function setOwn<T> (record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true })
}
