import { Type } from '../input/typebox.js'

/**
 * The probes' schemas. The probes-only admin port (lazy-admin.ts) serves
 * them from build-time constants (probe-shapes.generated.ts, written from
 * these by scripts/gen-schema-checks.ts), so that a probed idle gateway loads
 * neither TypeBox nor an ajv compiler.
 */

export const Healthy = Type.Object({ status: Type.Literal('ok') })
export const Ready = Type.Object({ ready: Type.Literal(true), version: Type.Integer() })
export const NotReady = Type.Object({ ready: Type.Literal(false), reason: Type.String() })

/**
 * `?exclude=store` (Kubernetes' /readyz?exclude=<check>): ready as soon as a
 * state is served, from the store or from the state cache, even while the
 * store is unreachable. For a startup probe: a container restarted during a
 * store outage then serves its cached state instead of waiting it out.
 * Other parameters are ignored, as probes and monitors add their own
 * (cache busters, `?verbose`); an `exclude` other than `store` is a 400.
 */
export const ReadyQuery = Type.Object({ exclude: Type.Optional(Type.Literal('store')) }, { additionalProperties: true })
