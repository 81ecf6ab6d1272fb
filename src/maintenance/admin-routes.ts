import { Type } from '../input/typebox.js'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/schema.js'
import { errors } from '../errors.js'
import { MAINTENANCE_STATUS_RANGE, MAX_PAGE_CHARS, MAX_REFRESH_SECONDS, type MaintenanceMode, type MaintenanceState } from '../state/types.js'
import { MAX_RETRY_AFTER } from './retry-after.js'
import { etagOf, notModified, preconditionsOf } from '../http/etag.js'
import { patchMaintenance, type MaintenancePatch } from './maintenance-service.js'
import { REDACTED } from '../state/redact.js'
import type { AdminPluginOptions, Role } from '../admin-plugin.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
const Path = Type.String({ minLength: 1, maxLength: 2048 })

/** Types and sizes only; maintenance-patch.ts checks meaning (CIDRs, dates, URLs). */
export const MaintenancePatchSchema = Type.Object({
  enabled: Type.Optional(Type.Boolean()),
  message: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))),
  retryAfter: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: MAX_RETRY_AFTER }))),
  startsAt: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  endsAt: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  allow: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100_000 })),
  exceptPaths: Type.Optional(Type.Array(Path, { maxItems: 10_000 })),
  paths: Type.Optional(Nullable(Type.Array(Path, { maxItems: 10_000 }))),
  // enum rather than a union of literals: ajv then names both allowed values in its message.
  mode: Type.Optional(Type.Unsafe<MaintenanceMode>({ type: 'string', enum: ['full', 'read-only'] })),
  redirect: Type.Optional(Nullable(Type.String({ maxLength: 2048 }))),
  status: Type.Optional(Nullable(Type.Integer(MAINTENANCE_STATUS_RANGE))),
  refresh: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: MAX_REFRESH_SECONDS }))),
  page: Type.Optional(Nullable(Type.String({ maxLength: MAX_PAGE_CHARS }))),
  secret: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Literal(true), Type.Null()])),
  // Single-entry edits applied to the newest lists (docs/concurrency.md).
  allowAdd: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100_000 })),
  allowRemove: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 100_000 })),
  exceptPathsAdd: Type.Optional(Type.Array(Path, { maxItems: 10_000 })),
  exceptPathsRemove: Type.Optional(Type.Array(Path, { maxItems: 10_000 })),
  pathsAdd: Type.Optional(Type.Array(Path, { maxItems: 10_000 })),
  pathsRemove: Type.Optional(Type.Array(Path, { maxItems: 10_000 }))
}, { additionalProperties: false })

export const MaintenanceViewSchema = Type.Object({
  enabled: Type.Boolean(),
  message: Nullable(Type.String()),
  retryAfter: Nullable(Type.Integer()),
  startsAt: Nullable(Type.String()),
  endsAt: Nullable(Type.String()),
  allow: Type.Array(Type.String()),
  exceptPaths: Type.Array(Type.String()),
  paths: Nullable(Type.Array(Type.String())),
  mode: Type.String(),
  redirect: Nullable(Type.String()),
  status: Type.Integer(),
  refresh: Nullable(Type.Integer()),
  page: Nullable(Type.String()),
  secret: Nullable(Type.String()),
  bypassUrl: Nullable(Type.String()),
  updatedAt: Nullable(Type.String()),
  updatedBy: Nullable(Type.String())
})

export type MaintenanceView = MaintenanceState & { status: number, refresh: number | null, page: string | null, bypassUrl: string | null }

/**
 * Where the bypass URL points: the configured public URL, else the gateway's
 * own address (a wildcard bind shown as localhost, which at least works on
 * the machine itself).
 */
export function bypassBase (config: Pick<Config, 'publicUrl'>, gatewayAddress: string): string {
  if (config.publicUrl !== undefined) return config.publicUrl.replace(/\/+$/, '')
  const local = gatewayAddress.replace(/^0\.0\.0\.0:/, 'localhost:').replace(/^\[::\]:/, 'localhost:')
  return `http://${local}`
}

/** The state as the API shows it. A read token sees that a secret is set, not what it is. */
export function maintenanceView (state: MaintenanceState, base: string, role: Role): MaintenanceView {
  // States written before status, refresh and page existed show their defaults.
  const m = { ...state, status: state.status ?? 503, refresh: state.refresh ?? null, page: state.page ?? null }
  if (m.secret === null) return { ...m, bypassUrl: null }
  if (role !== 'admin') return { ...m, secret: REDACTED, bypassUrl: REDACTED }
  return { ...m, bypassUrl: `${base}/${m.secret}` }
}

export async function maintenanceRoutes (app: FastifyInstance, { ctx, gatewayAddress }: AdminPluginOptions & { gatewayAddress: () => string }): Promise<void> {
  const base = (): string => bypassBase(ctx.config, gatewayAddress())

  app.get('/v1/maintenance', {
    schema: { response: { 200: MaintenanceViewSchema, 304: Type.Null() } }
  }, async (request, reply) => {
    const state = ctx.holder.current
    if (state === null) throw new errors.DRAWBRIDGE_ERR_STORE_UNAVAILABLE(ctx.holder.health().reason ?? 'state not loaded')
    const etag = etagOf(state.maintenance)
    void reply.header('etag', etag)
    if (notModified(request.headers['if-none-match'], etag)) return await reply.code(304).send()
    return maintenanceView(state.maintenance, base(), request.role)
  })

  app.patch('/v1/maintenance', {
    schema: { body: MaintenancePatchSchema, response: { 200: MaintenanceViewSchema } }
  }, async (request, reply) => {
    const next = await patchMaintenance(ctx, request.actor, request.body as MaintenancePatch, preconditionsOf(request.headers))
    void reply.header('etag', etagOf(next))
    return maintenanceView(next, base(), request.role)
  })
}
