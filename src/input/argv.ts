import { didYouMean } from './suggest.js'

/**
 * The one command-line tokenizer, for `drawbridge serve`'s settings and the
 * client commands' options alike, so both read a command line by the same
 * rules:
 * - `--name value` and `--name=value`; a following word that starts with `--`
 *   is the next option, never a value (so `--retry-after -5` is a value, and
 *   the schema, not the tokenizer, says what is wrong with it);
 * - `boolean` options take no value; `optional-string` ones take the next word
 *   unless it starts with `-` (`--secret` alone, or `--secret VALUE`);
 * - `list` options are comma-separated and repeatable: each use adds;
 * - any other repeated option: the last one wins;
 * - `--` ends the options; `-h` is `--help`.
 *
 * node:util's parseArgs was the library choice, but it cannot express
 * optional values or say "did you mean", and both are part of our CLI.
 */

export type OptionType = 'string' | 'boolean' | 'optional-string' | 'list'

export type OptionValue = string | true | string[]

export interface Argv {
  /** Keyed by option name without dashes (`ends-at`), in the order first given. */
  options: Map<string, OptionValue>
  /** Words that are not options, and everything after `--`. */
  positionals: string[]
}

/** A problem with one option; the caller turns it into its own error type. */
export class ArgvError extends Error {
  constructor (readonly option: string, readonly problem: string) {
    super(`${option}: ${problem}`)
    this.name = 'ArgvError'
  }
}

export function splitList (value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

/**
 * Splits `args` by the types `typeOf` gives (undefined: not an option of this
 * command). `noun` names options in the "unknown" error: settings of `serve`
 * are "flags", the client commands' are "options".
 */
export function tokenizeArgv (args: readonly string[], typeOf: ReadonlyMap<string, OptionType>, noun = 'option'): Argv {
  const options = new Map<string, OptionValue>()
  const positionals: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') {
      positionals.push(...args.slice(i + 1))
      break
    }
    if (arg === '-h' && typeOf.has('help')) {
      options.set('help', true)
      continue
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    const inline = eq < 0 ? undefined : arg.slice(eq + 1)
    const type = typeOf.get(name)
    if (type === undefined) {
      throw new ArgvError(`--${name}`, `unknown ${noun}${didYouMean(`--${name}`, [...typeOf.keys()].map((n) => `--${n}`))}`)
    }
    const next = args[i + 1]
    if (type === 'boolean') {
      if (inline !== undefined) throw new ArgvError(`--${name}`, 'takes no value')
      options.set(name, true)
      continue
    }
    if (type === 'optional-string') {
      if (inline !== undefined) options.set(name, inline)
      else if (next !== undefined && !next.startsWith('-')) { options.set(name, next); i++ } else options.set(name, true)
      continue
    }
    let value = inline
    if (value === undefined) {
      if (next === undefined || next.startsWith('--')) throw new ArgvError(`--${name}`, 'needs a value')
      value = next
      i++
    }
    if (type === 'string') {
      options.set(name, value)
    } else {
      // Repeating a list option adds to it: --allow 10.0.0.0/8 --allow 192.168.0.0/16.
      const previous = options.get(name)
      options.set(name, [...(Array.isArray(previous) ? previous : []), ...splitList(value)])
    }
  }
  return { options, positionals }
}
