/**
 * The string formats the schemas use, in one place: TypeBox's FormatRegistry
 * (where schemas are checked at run time) and the checks compiled at build
 * time (scripts/gen-schema-checks.ts) both take them from here.
 */
export const FORMATS: ReadonlyMap<string, (value: string) => boolean> = new Map([
  ['uri', (value: string) => { try { return new URL(value).protocol.length > 1 } catch { return false } }]
])

interface FormatRegistryLike {
  Has: (format: string) => boolean
  Set: (format: string, check: (value: string) => boolean) => void
}

export function registerFormats (registry: FormatRegistryLike): void {
  for (const [name, check] of FORMATS) if (!registry.Has(name)) registry.Set(name, check)
}

/** The `format(name, value)` that TypeBox's compiled checks call. */
export function checkFormat (name: string, value: string): boolean {
  return FORMATS.get(name)?.(value) ?? false
}
