import * as monitoringV1 from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1'
import * as appsV1 from 'kubernetes-models/apps/v1'
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2'
import * as networkingV1 from 'kubernetes-models/networking.k8s.io/v1'
import * as policyV1 from 'kubernetes-models/policy/v1'
import * as coreV1 from 'kubernetes-models/v1'

/**
 * Validates a rendered object against the Kubernetes OpenAPI schemas that
 * kubernetes-models compiles (and the Prometheus Operator CRDs'), by
 * apiVersion and kind. Those schemas check types, enums, formats and required
 * fields; like the API server's OpenAPI they do not reject unknown fields.
 */

type Validating = new (data: unknown) => { validate: () => void }

const GROUPS: Record<string, Record<string, unknown>> = {
  v1: coreV1,
  'apps/v1': appsV1,
  'autoscaling/v2': autoscalingV2,
  'networking.k8s.io/v1': networkingV1,
  'policy/v1': policyV1,
  'monitoring.coreos.com/v1': monitoringV1
}

/** null when the object is valid, else what is wrong with it. */
export function schemaErrors (obj: { apiVersion?: string, kind?: string, [field: string]: unknown }): string | null {
  const Model = GROUPS[obj.apiVersion ?? '']?.[obj.kind ?? ''] as Validating | undefined
  if (Model === undefined) return `no schema for ${obj.apiVersion ?? '?'} ${obj.kind ?? '?'}`
  try {
    new Model(obj).validate()
    return null
  } catch (err) {
    return (err as Error).message
  }
}
