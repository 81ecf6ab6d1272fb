/**
 * How deeply JSON input may nest. Everything that walks a value afterwards
 * (canonical JSON for ETags, JSON.stringify into the store, structuredClone of
 * drafts, ajv) recurses, and a body nested a million arrays deep overflows the
 * stack there: a 500 and a stack trace in the log instead of a 400. Real flag
 * values and contexts are a few levels deep.
 */
export const MAX_JSON_DEPTH = 64

/** True when `value` nests deeper than `max` arrays/objects. Iterative: it cannot overflow itself. */
export function nestsDeeperThan (value: unknown, max = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number]
    if (depth > max) return true
    const children = Array.isArray(node) ? node : Object.values(node as object)
    for (const child of children) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1])
    }
  }
  return false
}
