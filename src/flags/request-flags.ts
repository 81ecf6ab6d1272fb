import type { IncomingMessage } from 'node:http'
import type { AppContext } from '../context.js'
import { readCookie } from '../maintenance/bypass-cookie.js'
import { compilePathMatcher, type PathMatcher } from '../maintenance/paths.js'
import type { RequestFlagsResolver } from '../proxy/gateway.js'
import type { CompiledFlags, Evaluation } from './compile.js'
import { evaluateFlag, type EvaluationContext } from './evaluate.js'
import { flagRuntime } from './flag-runtime.js'
import { markServed } from './flag-usage.js'

/**
 * Flags at the proxy: for each request that is going to be proxied, evaluate
 * every flag for the request's identity, answer a gate's status when a gated
 * path's flag is off, and otherwise list the flags that are on in
 * `X-Drawbridge-Flags: key1,key2=variant` for the upstream.
 *
 * Identity comes from `flagsIdentity` (`header:<name>` or `cookie:<name>`).
 * Rules can also look at `ip` (the resolved client address), `path` (the
 * normalised path), `method` and `host`.
 *
 * Everything that depends only on the flags (gate matchers, a scratch array
 * for results) is prepared once per state change; with no flags a request
 * costs one pointer comparison.
 */

const NONE: { header: string, gateStatus: number } = Object.freeze({ header: '', gateStatus: 0 })

type Identity = (req: IncomingMessage) => string | undefined

/** Reads the targeting key as configured; no identity configured: every request is anonymous. */
export function identityReader (spec: string | undefined): Identity {
  if (spec === undefined) return () => undefined
  const colon = spec.indexOf(':')
  const kind = spec.slice(0, colon)
  const name = spec.slice(colon + 1).trim()
  if (kind === 'header') {
    const header = name.toLowerCase()
    return (req) => {
      const value = req.headers[header]
      const first = Array.isArray(value) ? value[0] : value
      return first === undefined || first === '' ? undefined : first
    }
  }
  return (req) => {
    const value = readCookie(req.headers.cookie, name)
    if (value === undefined || value === '') return undefined
    if (value.indexOf('%') < 0) return value
    // Frameworks percent-encode cookie values; the id the application means is the decoded one.
    try { return decodeURIComponent(value) } catch { return value }
  }
}

interface Plan {
  table: CompiledFlags
  /** Index into table.list and the matcher of its gate paths. */
  gates: Array<{ index: number, status: number, matches: PathMatcher }>
  /** Scratch space for one request's results (requests are handled one at a time). */
  results: Evaluation[]
}

function planFor (table: CompiledFlags): Plan {
  const gates: Plan['gates'] = []
  table.list.forEach((cf, index) => {
    if (cf.gate !== null) gates.push({ index, status: cf.gate.status, matches: compilePathMatcher(cf.gate.paths) })
  })
  return { table, gates, results: new Array<Evaluation>(table.list.length) }
}

export function createRequestFlags (ctx: AppContext): RequestFlagsResolver {
  const runtime = flagRuntime(ctx)
  const identity = identityReader(ctx.config.flagsIdentity)
  let plan: Plan | null = null

  return {
    resolve (req, normalizedPath, ip) {
      const table = runtime.table()
      if (table === null || table.list.length === 0) return NONE
      if (plan === null || plan.table !== table) plan = planFor(table)
      const list = table.list
      const results = plan.results
      const evalCtx: EvaluationContext = {
        targetingKey: identity(req),
        attributes: { ip, path: normalizedPath, method: req.method, host: req.headers.host }
      }
      const now = Date.now()
      for (let i = 0; i < list.length; i++) {
        const cf = list[i] as CompiledFlags['list'][number]
        const ev = evaluateFlag(cf, evalCtx)
        results[i] = ev
        markServed(cf, ev, now)
      }
      const gates = plan.gates
      for (let g = 0; g < gates.length; g++) {
        const gate = gates[g] as Plan['gates'][number]
        if (!(results[gate.index] as Evaluation).value && gate.matches(normalizedPath)) return { header: '', gateStatus: gate.status }
      }
      let header = ''
      for (let i = 0; i < list.length; i++) {
        const ev = results[i] as Evaluation
        if (!ev.value) continue
        const key = (list[i] as CompiledFlags['list'][number]).key
        const item = ev.variant === null ? key : key + '=' + ev.variant
        header = header === '' ? item : header + ',' + item
      }
      return header === '' ? NONE : { header, gateStatus: 0 }
    }
  }
}
