import { ArgvError, tokenizeArgv, type OptionType, type OptionValue } from '../input/argv.js'
import { UsageError } from './output.js'

/**
 * The client commands' options, read by the same tokenizer as `serve`'s
 * settings (input/argv.ts): one set of rules for every command line.
 */

export type { OptionType, OptionValue }

export type OptionSpec = Record<string, OptionType>

export interface ParsedArgs {
  /** Keyed by option name without dashes: `ends-at`. */
  options: Record<string, OptionValue | undefined>
  positionals: string[]
}

/** Options every client command accepts. */
export const COMMON_OPTIONS: OptionSpec = {
  json: 'boolean',
  help: 'boolean',
  'admin-url': 'string',
  'admin-token': 'string'
}

export function parseArgs (args: readonly string[], spec: OptionSpec): ParsedArgs {
  try {
    const { options, positionals } = tokenizeArgv(args, new Map(Object.entries({ ...COMMON_OPTIONS, ...spec })))
    return { options: Object.assign(Object.create(null) as Record<string, OptionValue | undefined>, Object.fromEntries(options)), positionals }
  } catch (error) {
    if (error instanceof ArgvError) throw new UsageError(error.message)
    throw error
  }
}

export function stringOption (parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.options[name]
  return typeof value === 'string' ? value : undefined
}
