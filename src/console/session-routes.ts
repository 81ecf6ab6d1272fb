import { Type, type Static } from '../input/typebox.js'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { isOpen, tokenMatcher } from '../config/tokens.js'
import { errors } from '../errors.js'
import { packageVersion } from '../version.js'
import type { AdminPluginOptions } from '../admin-plugin.js'
import { crossSiteRefusal } from './cross-site.js'
import { SESSION_COOKIE, SESSION_TTL_SECONDS, type ConsoleSession, type ConsoleSessions } from './session.js'

const SignInBody = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 4096 })
}, { additionalProperties: false })

const SessionView = Type.Object({
  actor: Type.String(),
  role: Type.String(),
  /** No token is configured: the API (and so the console) is open, on loopback only. */
  open: Type.Boolean(),
  /** When the session ends (ISO); null when the caller used a bearer token or the API is open. */
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  /** The value the console sends in X-Drawbridge-CSRF with every change. */
  csrf: Type.Union([Type.String(), Type.Null()]),
  version: Type.String()
})

const COOKIE_OPTIONS = { httpOnly: true, sameSite: 'strict', path: '/', secure: 'auto' } as const

/**
 * `/ui/session`: sign in with a token (POST, public), who am I (GET), sign
 * out (DELETE). The cookie is set and cleared with @fastify/cookie, signed by
 * the sessions' Signer; the auth hook (admin/auth.ts) reads it on every route.
 */
export async function sessionRoutes (app: FastifyInstance, { ctx, sessions }: AdminPluginOptions & { sessions: ConsoleSessions }): Promise<void> {
  const match = tokenMatcher(ctx.config)
  const open = isOpen(ctx.config)
  const version = packageVersion()
  const view = (actor: string, role: string, session: ConsoleSession | null): Static<typeof SessionView> => ({
    actor, role, open, version, expiresAt: session === null ? null : new Date(session.expiresAt).toISOString(), csrf: session?.csrf ?? null
  })
  const sessionOf = (headers: { authorization?: string, cookie?: string }): ConsoleSession | null =>
    headers.authorization === undefined ? sessions.fromCookieHeader(headers.cookie) : null

  app.post('/ui/session', {
    config: { public: true },
    schema: { body: SignInBody, response: { 200: SessionView } }
  }, async (request, reply: FastifyReply) => {
    // A sign-in planted by another site would log the operator into someone else's session.
    const refusal = crossSiteRefusal(request.method, request.headers, null)
    if (refusal !== null) throw new errors.DRAWBRIDGE_ERR_CROSS_SITE(refusal)
    const token = match((request.body as Static<typeof SignInBody>).token)
    if (token === null) {
      request.log.warn({ ip: request.ip }, 'console: sign-in with an unknown token')
      throw new errors.DRAWBRIDGE_ERR_UNAUTHORIZED()
    }
    const { cookie, session } = sessions.issue(token)
    void reply.setCookie(SESSION_COOKIE, cookie, { ...COOKIE_OPTIONS, maxAge: SESSION_TTL_SECONDS })
    request.log.info({ actor: token.actor, role: token.role }, 'console: signed in')
    return view(token.actor, token.role, session)
  })

  app.get('/ui/session', {
    schema: { response: { 200: SessionView } }
  }, async (request) => view(request.actor, request.role, sessionOf(request.headers)))

  app.delete('/ui/session', {
    // Anyone signed in may sign out, whatever their role.
    config: { role: 'read' }
  }, async (request, reply) => {
    const session = sessionOf(request.headers)
    if (session !== null) sessions.revoke(session)
    void reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS)
    return await reply.code(204).send()
  })
}
