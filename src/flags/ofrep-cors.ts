import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * CORS for the OFREP routes, so OpenFeature's web provider can evaluate flags
 * from a page on an allowed origin (`corsOrigins`). Credentials are not
 * involved: the page sends the token as a header, which is why the preflight
 * (which carries no token) is answered without one.
 *
 * Hand-written rather than @fastify/cors: its hooks run inside this plugin,
 * after the port's token check registered at the root, which would refuse
 * every preflight; two routes and four headers do not need the library.
 */

const ROUTES = ['/ofrep/v1/evaluate/flags', '/ofrep/v1/evaluate/flags/:key']
const ALLOWED_HEADERS = 'authorization, content-type, if-none-match, x-api-key'
/** The bulk route's ETag is what the web provider polls with; Retry-After comes with a 429. */
const EXPOSED_HEADERS = 'etag, retry-after'
const MAX_AGE_SECONDS = '600'

export function ofrepCors (app: FastifyInstance, origins: readonly string[]): void {
  const any = origins.includes('*')
  const listed = new Set(origins)
  const allowedOrigin = (request: FastifyRequest): string | null => {
    const origin = request.headers.origin
    if (origin === undefined || (!any && !listed.has(origin))) return null
    return any ? '*' : origin
  }
  const vary = (reply: FastifyReply): void => {
    // The answer depends on Origin only when some origins are allowed and others not.
    if (!any) void reply.header('vary', 'origin')
  }

  app.addHook('onSend', async (request, reply) => {
    if (request.method === 'OPTIONS') return
    const origin = allowedOrigin(request)
    vary(reply)
    if (origin === null) return
    void reply.header('access-control-allow-origin', origin)
    void reply.header('access-control-expose-headers', EXPOSED_HEADERS)
  })

  for (const url of ROUTES) {
    app.options(url, { config: { public: true } }, async (request, reply) => {
      const origin = allowedOrigin(request)
      vary(reply)
      // An origin that is not allowed gets no CORS headers: the browser then refuses the call itself.
      if (origin !== null) {
        void reply.header('access-control-allow-origin', origin)
        void reply.header('access-control-allow-methods', 'POST, OPTIONS')
        void reply.header('access-control-allow-headers', ALLOWED_HEADERS)
        void reply.header('access-control-max-age', MAX_AGE_SECONDS)
      }
      return await reply.code(204).send()
    })
  }
}
