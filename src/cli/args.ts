import { didYouMean } from '../config/suggest.js'
import { UsageError } from './output.js'

/**
 * The client commands' small argument parser: `--name value`, `--name=value`,
 * boolean flags, options whose value is optional (`--secret` or
 * `--secret VALUE`), and list options (comma-separated, repeatable).
 */

export type OptionType = 'string' | 'boolean' | 'optional-string' | 'list'

export type OptionSpec = Record<string, OptionType>

export type OptionValue = string | true | string[]

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

function splitList (value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

export function parseArgs (args: readonly string[], spec: OptionSpec): ParsedArgs {
  const all: OptionSpec = { ...COMMON_OPTIONS, ...spec }
  const options: Record<string, OptionValue | undefined> = {}
  const positionals: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') {
      positionals.push(...args.slice(i + 1))
      break
    }
    if (arg === '-h') {
      options.help = true
      continue
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    const inline = eq < 0 ? undefined : arg.slice(eq + 1)
    const type = all[name]
    if (type === undefined) {
      throw new UsageError(`--${name}: unknown option${didYouMean(`--${name}`, Object.keys(all).map((n) => `--${n}`))}`)
    }
    const next = args[i + 1]
    switch (type) {
      case 'boolean':
        if (inline !== undefined) throw new UsageError(`--${name}: takes no value`)
        options[name] = true
        break
      case 'optional-string':
        if (inline !== undefined) {
          options[name] = inline
        } else if (next !== undefined && !next.startsWith('-')) {
          options[name] = next
          i++
        } else {
          options[name] = true
        }
        break
      case 'string':
      case 'list': {
        let value = inline
        if (value === undefined) {
          if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name}: needs a value`)
          value = next
          i++
        }
        if (type === 'string') {
          options[name] = value
        } else {
          // Repeating a list option adds to it: --allow 10.0.0.0/8 --allow 192.168.0.0/16.
          const previous = options[name]
          options[name] = [...(Array.isArray(previous) ? previous : []), ...splitList(value)]
        }
        break
      }
    }
  }
  return { options, positionals }
}

export function stringOption (parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.options[name]
  return typeof value === 'string' ? value : undefined
}
