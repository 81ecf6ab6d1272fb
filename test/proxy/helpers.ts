import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http'
import type { Test } from 'tap'
import { request } from 'undici'
import { loadConfig } from '../../src/config/load.js'
import type { Config } from '../../src/config/schema.js'
import type { AppContext } from '../../src/context.js'
import { DrawbridgeEvents } from '../../src/events.js'
import { createLogger } from '../../src/logger.js'
import { Metrics } from '../../src/metrics.js'
import { buildGateway, type Gateway, type GatewayOptions } from '../../src/proxy/gateway.js'
import { createStore } from '../../src/state/create-store.js'
import { StateHolder } from '../../src/state/state-holder.js'
import type { MaintenanceState, SharedState } from '../../src/state/types.js'

export interface TestGateway {
  url: string
  address: string
  ctx: AppContext
  gateway: Gateway
  /** Merge into the maintenance state through the real store; resolves once the gateway holds it. */
  setMaintenance: (patch: Partial<MaintenanceState>) => Promise<SharedState>
}

/**
 * A gateway on 127.0.0.1:0 over the real embedded store, in front of `upstream`.
 * `flags` are command-line settings as a user gives them.
 */
export async function startGateway (t: Test, upstream: string, flags: string[] = [], options: GatewayOptions & { extra?: Partial<Config>, holderStart?: boolean } = {}): Promise<TestGateway> {
  const config = { ...loadConfig(['--upstream', upstream, ...flags], {}), ...options.extra } as Config
  const logger = createLogger('silent')
  const store = createStore(config, logger)
  const holder = new StateHolder(store, logger, 100)
  if (options.holderStart !== false) await holder.start()
  const ctx: AppContext = { config, logger, store, holder, events: new DrawbridgeEvents(), metrics: new Metrics(), appliedMigrations: null }
  const gateway = await buildGateway(ctx, options)
  const address = await gateway.listen('127.0.0.1', 0)
  t.teardown(async () => {
    await gateway.close(0)
    holder.stop()
    await store.close()
  })
  return {
    url: `http://${address}`,
    address,
    ctx,
    gateway,
    async setMaintenance (patch) {
      const next = await store.update((draft) => ({ ...draft, maintenance: { ...draft.maintenance, ...patch } }))
      const deadline = Date.now() + 2000
      while ((holder.current?.version ?? 0) < next.version) {
        if (Date.now() > deadline) throw new Error('state did not reach the holder')
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      return next
    }
  }
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
}

/** One request, body read fully; a fresh connection each time so nothing leaks between tests. */
export type RequestOptions = NonNullable<Parameters<typeof request>[1]>

export async function fetchText (url: string, options: RequestOptions = {}): Promise<Answer> {
  const res = await request(url, { ...options, reset: true })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, text }
}

/**
 * node:http request with the path sent verbatim (undici and fetch normalise
 * `..` and `%2e` away) and headers undici refuses to send (Connection tokens).
 */
export async function rawRequest (base: string, path: string, options: { method?: string, headers?: OutgoingHttpHeaders, body?: string } = {}): Promise<Answer> {
  const { hostname, port } = new URL(base)
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(options.body)
  })
}
