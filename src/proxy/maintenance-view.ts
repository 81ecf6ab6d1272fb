import type { Logger } from 'pino'
import type { AppContext } from '../context.js'
import { compileFallback, compileMaintenance, type CompiledMaintenance } from '../maintenance/compile.js'
import { loadPageTemplate } from '../maintenance/page.js'
import type { SharedState } from '../state/types.js'

/**
 * The maintenance state as the gateway decides on it: compiled once per change
 * (matchers, signer, pre-rendered answers), swapped in one assignment so a
 * request in flight keeps the answers it started with. Until the first state
 * arrives, the fail policy's fallback.
 */
export interface MaintenanceView {
  /** The current compiled state; read on every request. */
  readonly compiled: CompiledMaintenance
  /** Whether `path` starts with a bypass secret, current or one this process saw retired: such paths are never logged. */
  isSecretPath: (path: string) => boolean
  /** Re-reads the page template (SIGHUP); throws ConfigError, keeping the old page, when it cannot be read. */
  reloadPage: (path: string | undefined) => void
  stop: () => void
}

/** How many retired secrets stay redacted from the access log. */
const RETIRED_SECRETS = 16

/** `onCompiled` runs after every listener (the flags runtime too) has seen the new state. */
export function watchMaintenance (ctx: AppContext, log: Logger, onCompiled: () => void): MaintenanceView {
  const { config, metrics } = ctx
  const cookieTtlSeconds = config.bypassCookieTtlSeconds
  let template = loadPageTemplate(config.page)
  let compiled: CompiledMaintenance = compileFallback(config.failPolicy, template, cookieTtlSeconds)
  let lastState: SharedState | null = null
  const retiredSecrets: Array<(path: string) => boolean> = []

  const compile = (state: SharedState): CompiledMaintenance => compileMaintenance(state.maintenance, {
    signingKey: config.signingKey ?? state.signingKey,
    template,
    cookieTtlSeconds,
    progress: state.progress ?? null,
    onInvalidCidr: (entry, err) => { log.warn({ entry, problem: err.message }, 'ignoring invalid allowlist entry in state') }
  })

  const stop = ctx.holder.onChange((state) => {
    setImmediate(onCompiled)
    lastState = state
    const previous = compiled
    compiled = compile(state)
    if (previous.underSecret !== null && previous.secretPath !== compiled.secretPath) {
      retiredSecrets.unshift(previous.underSecret)
      if (retiredSecrets.length > RETIRED_SECRETS) retiredSecrets.pop()
    }
    metrics.maintenanceEnabled.set(state.maintenance.enabled ? 1 : 0)
    metrics.stateVersion.set(state.version)
  })

  return {
    get compiled () { return compiled },
    isSecretPath (path) {
      if (compiled.underSecret?.(path) === true) return true
      for (const under of retiredSecrets) if (under(path)) return true
      return false
    },
    reloadPage (path) {
      template = loadPageTemplate(path)
      compiled = lastState === null ? compileFallback(config.failPolicy, template, cookieTtlSeconds) : compile(lastState)
    },
    stop
  }
}
