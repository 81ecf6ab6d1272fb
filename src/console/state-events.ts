import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { errors } from '../errors.js'
import type { AdminPluginOptions } from '../admin-plugin.js'
import { CONSOLE_CSP } from './security-headers.js'

/** Open console streams at once, across every operator: each holds a connection and a listener. */
const MAX_STREAMS = 64
const KEEPALIVE_MS = 15_000

/**
 * `GET /ui/events`: server-sent events that tell an open console something
 * changed, so it re-reads what it shows through the admin API (the stream
 * carries no state itself). `state` with the new version whenever this
 * process sees a newer state (its own writes, another replica's through the
 * store, the CLI's); `activity` for domain events that are not state (a
 * migration run starting or ending).
 */
export async function stateEventRoutes (app: FastifyInstance, { ctx }: AdminPluginOptions): Promise<void> {
  const open = new Set<ServerResponse>()
  // Streams never end by themselves: close them when the port closes, or the close would wait on them.
  app.addHook('preClose', async () => { for (const res of open) res.end() })

  app.get('/ui/events', async (request, reply) => {
    if (open.size >= MAX_STREAMS) throw new errors.DRAWBRIDGE_ERR_CONFLICT(`too many open console streams (${MAX_STREAMS}); close a console tab`)
    reply.hijack()
    const res = reply.raw
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      // Written past Fastify (hijacked), so the console's headers are set here.
      'content-security-policy': CONSOLE_CSP
    })
    open.add(res)
    // A browser reconnects by itself after a drop; tell it not to wait long.
    res.write('retry: 2000\n\n')
    const send = (event: string, data: unknown): void => { if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) }
    let lastVersion = -1
    const stopState = ctx.holder.onChange((state) => {
      if (state.version === lastVersion) return
      lastVersion = state.version
      send('state', { version: state.version })
    })
    const stopEvents = ctx.events.onEvent((payload) => { send('activity', { event: payload.event, at: payload.at }) })
    const keepalive = setInterval(() => { if (!res.writableEnded) res.write(': keepalive\n\n') }, KEEPALIVE_MS)
    keepalive.unref()
    res.on('close', () => {
      open.delete(res)
      clearInterval(keepalive)
      stopState()
      stopEvents()
    })
  })
}
