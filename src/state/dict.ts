/**
 * The state's dictionaries (flags by key, overrides by flag and user id) are
 * keyed by user input, so a key like `constructor`, `toString` or
 * `__proto__` must be plain data. Lookups go through `Object.hasOwn` (an
 * inherited `Object.prototype.constructor` is not a flag), writes define an
 * own property (assigning `__proto__` would set the prototype instead and
 * store nothing), and dictionaries built or parsed here have no prototype.
 * structuredClone and JSON.parse keep an own `__proto__` key as data, so a
 * draft cloned from such a dictionary still holds it.
 */

export type Dict<T> = Record<string, T>

export function emptyDict<T> (): Dict<T> {
  return Object.create(null) as Dict<T>
}

export function getOwn<T> (dict: Readonly<Dict<T>>, key: string): T | undefined {
  return Object.hasOwn(dict, key) ? dict[key] : undefined
}

export function hasOwn (dict: Readonly<Dict<unknown>>, key: string): boolean {
  return Object.hasOwn(dict, key)
}

export function setOwn<T> (dict: Dict<T>, key: string, value: T): void {
  Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true })
}

export function deleteOwn (dict: Dict<unknown>, key: string): void {
  if (Object.hasOwn(dict, key)) Reflect.deleteProperty(dict, key)
}

/** A prototype-free copy of `source`'s own enumerable entries, mapped by `map`. */
export function toDict<T> (source: Readonly<Record<string, unknown>>, map: (value: unknown) => T = (v) => v as T): Dict<T> {
  const out = emptyDict<T>()
  for (const key of Object.keys(source)) setOwn(out, key, map(source[key]))
  return out
}
