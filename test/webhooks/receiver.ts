import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'
import type { WebhookConfig } from '../../src/config/schema.js'
import type { AppContext } from '../../src/context.js'
import { DrawbridgeEvents } from '../../src/events.js'
import { createLogger } from '../../src/logger.js'
import { Metrics } from '../../src/metrics.js'
import { loadConfig } from '../../src/config/load.js'
import { createStore } from '../../src/state/create-store.js'
import { StateHolder } from '../../src/state/state-holder.js'

export interface Received {
  headers: IncomingHttpHeaders
  /** The raw body, as a receiver must verify it. */
  body: string
  at: number
}

/**
 * A real HTTP receiver on port 0. `handler` decides per request (the n-th,
 * counting from 0) what to answer; returning null leaves the request hanging
 * until the test ends.
 */
export async function startReceiver (
  t: Test,
  handler: (n: number, req: IncomingMessage) => number | null = () => 200
): Promise<{ url: string, received: Received[], next: () => Promise<Received> }> {
  const received: Received[] = []
  const waiters: Array<() => void> = []
  const hanging = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const n = received.length
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() })
      for (const w of waiters.splice(0)) w()
      const status = handler(n, req)
      if (status === null) {
        hanging.add(res)
        return
      }
      res.statusCode = status
      res.end(status < 300 ? 'ok' : 'nope')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    for (const res of hanging) res.destroy()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  let seen = 0
  const next = async (): Promise<Received> => {
    while (received.length <= seen) await new Promise<void>((resolve) => waiters.push(resolve))
    return received[seen++] as Received
  }
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, next }
}

/** A minimal AppContext over the real embedded store, with the given webhooks. */
export async function webhookContext (t: Test, webhooks: WebhookConfig[]): Promise<AppContext> {
  const config = { ...loadConfig(['--upstream', 'http://127.0.0.1:9'], {}), webhooks }
  const logger = createLogger('silent')
  const store = createStore(config, logger)
  const holder = new StateHolder(store, logger, 100)
  await holder.start()
  t.teardown(async () => {
    holder.stop()
    await store.close()
  })
  return { config, logger, store, holder, events: new DrawbridgeEvents(), metrics: new Metrics(), appliedMigrations: null }
}
