import 'fastify'
import type { AppContext } from './context.js'

export type Role = 'admin' | 'read'

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: the token's name ("admin", "read", or a named token), or "anonymous" with no token configured. */
    actor: string
    role: Role
  }
  interface FastifyContextConfig {
    /** Role a route needs; default: 'read' for GET/HEAD, 'admin' otherwise. */
    role?: Role
    /** Routes open without a token (healthz, readyz, metrics). */
    public?: boolean
    /** The token may also come as `X-API-Key` (OFREP's alternative to a bearer token). */
    apiKey?: boolean
    /** The token may also be the whole `Authorization` header, as Unleash SDKs send it. */
    rawToken?: boolean
  }
}

/** Options every admin route plugin receives. */
export interface AdminPluginOptions {
  ctx: AppContext
}
