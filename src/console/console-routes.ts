import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import fastifyCookie from '@fastify/cookie'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance } from 'fastify'
import { errors } from '../errors.js'
import type { AdminPluginOptions } from '../admin-plugin.js'
import { previewRoutes } from './preview.js'
import { secureConsoleReply } from './security-headers.js'
import { consoleSessions } from './session.js'
import { sessionRoutes } from './session-routes.js'
import { stateEventRoutes } from './state-events.js'

/**
 * Where `npm run build` puts the console's client (scripts/build-console.mjs):
 * dist/ui/ of this package, from src/console/ and dist/console/ alike.
 */
export const UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url))

/**
 * The operator console under `/ui/` (CONTRACT section 7): its page and
 * assets (public: the sign-in is in them), the session routes, the page
 * preview and the change stream. Everything it shows and changes goes
 * through the admin API's own routes with the session cookie.
 */
export async function consoleRoutes (app: FastifyInstance, opts: AdminPluginOptions): Promise<void> {
  const sessions = consoleSessions(opts.ctx.config)
  await app.register(fastifyCookie, { secret: sessions.signer, parseOptions: {} })
  // Every answer from here, errors (a 401 from the auth hook) and not-found under /ui/ included, carries the CSP.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('content-security-policy')) secureConsoleReply(reply)
    return payload
  })
  await app.register(async (app) => {
    app.setNotFoundHandler((request) => {
      throw new errors.DRAWBRIDGE_ERR_NOT_FOUND(`Route ${request.method} ${request.url.split('?')[0] ?? ''} not found`)
    })
  }, { prefix: '/ui' })

  await app.register(async (app) => {
    // The page is the sign-in form too, so it and its assets need no session.
    app.addHook('onRoute', (route) => { route.config = { ...route.config, public: true } })
    app.get('/ui', async (_request, reply) => await reply.redirect('/ui/', 308))
    app.get('/ui/', async (_request, reply) => {
      const html = await readFile(`${UI_DIR}index.html`).catch(() => null)
      if (html === null) throw new errors.DRAWBRIDGE_ERR_NOT_CONFIGURED('The console (its assets are not built: run `npm run build`)')
      return await reply.header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(html)
    })
    if (existsSync(`${UI_DIR}assets`)) {
      // Built file names carry their content hash: a name never changes content.
      await app.register(fastifyStatic, { root: `${UI_DIR}assets`, prefix: '/ui/assets/', index: false, dotfiles: 'deny', decorateReply: false, maxAge: '365d', immutable: true })
    }
  })
  await app.register(sessionRoutes, { ...opts, sessions })
  await app.register(previewRoutes, opts)
  await app.register(stateEventRoutes, opts)
}
