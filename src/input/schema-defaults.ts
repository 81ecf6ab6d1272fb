/**
 * A JSON Schema the way the build-time checks carry it (plain data; TypeBox's
 * Kind markers are symbol keys and do not matter here).
 */
export interface SchemaData {
  default?: unknown
  properties?: Record<string, SchemaData>
  items?: SchemaData
  [key: string]: unknown
}

/**
 * Fills in `default`s the way TypeBox's Value.Default does for the schemas
 * this program has (objects, arrays, scalars with defaults; no defaults inside
 * unions or records), so the config loader need not load TypeBox at start.
 * Mutates and returns `value`; a missing property with no default stays
 * missing. test/input/schema-checks.test.ts compares it with Value.Default.
 */
export function withDefaults (schema: SchemaData, value: unknown): unknown {
  const filled = value === undefined && 'default' in schema ? structuredClone(schema.default) : value
  if (schema.properties !== undefined && typeof filled === 'object' && filled !== null && !Array.isArray(filled)) {
    const object = filled as Record<string, unknown>
    for (const [key, property] of Object.entries(schema.properties)) {
      const next = withDefaults(property, object[key])
      if (next !== undefined) object[key] = next
    }
  } else if (schema.items !== undefined && Array.isArray(filled)) {
    for (let i = 0; i < filled.length; i++) filled[i] = withDefaults(schema.items, filled[i])
  }
  return filled
}
