/**
 * Every exported object checked against the Kubernetes OpenAPI schema (kubernetes-models) and the
 * Argo Rollouts CRD schema (@kubernetes-models/argo-rollouts) before anything is written.
 */
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { AnalysisTemplate } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/AnalysisTemplate';
import { Rollout } from '@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout';
import { WorkFailedError } from '../errors.js';
import type { KubernetesObject } from './kubernetes-objects.js';

/** A DNS-1123 subdomain: what the API server requires of most object names (the OpenAPI schema does not say). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** The schema's complaints about one object, as `path: message`; empty when it is valid. */
export function schemaProblems(object: KubernetesObject): string[] {
  const model = toModel(object);
  if (model === undefined) return [`no schema for ${object.apiVersion} ${object.kind}`];
  const problems = nameProblems(object);
  try {
    model.validate();
  } catch (error) {
    const errors = (error as { errors?: Array<{ instancePath?: string; message?: string }> }).errors;
    if (!Array.isArray(errors)) problems.push((error as Error).message);
    else problems.push(...errors.map((problem) => `${problem.instancePath || '/'} ${problem.message ?? 'is invalid'}`));
  }
  return problems;
}

/** What the API server checks beyond the schema: the object's name and its label values. */
function nameProblems(object: KubernetesObject): string[] {
  const problems: string[] = [];
  const name = object.metadata?.name ?? '';
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) problems.push(`/metadata/name "${name}" is not a DNS-1123 subdomain`);
  for (const [key, value] of Object.entries(object.metadata?.labels ?? {})) {
    if (!LABEL_VALUE.test(value) || value.length > 63) problems.push(`/metadata/labels/${key} "${value}" is not a valid label value`);
  }
  return problems;
}

/** Throws (exit 1) naming the first invalid object: an export Kubernetes would refuse is never written. */
export function assertValidObjects(objects: readonly KubernetesObject[]): void {
  for (const object of objects) {
    const problems = schemaProblems(object);
    if (problems.length > 0) {
      throw new WorkFailedError(
        'KUBERNETES_INVALID',
        `${object.kind} ${object.metadata?.name ?? ''} does not match the Kubernetes schema: ${problems.join('; ')}`,
        'nothing was written; the value comes from the definition (fix it there) or envctl maps it wrongly (report it)',
      );
    }
  }
}

function toModel(object: KubernetesObject): { validate(): void } | undefined {
  switch (object.kind) {
    case 'ConfigMap':
      return new ConfigMap(object);
    case 'Secret':
      return new Secret(object);
    case 'PersistentVolumeClaim':
      return new PersistentVolumeClaim(object);
    case 'Service':
      return new Service(object);
    case 'Deployment':
      return new Deployment(object);
    case 'DaemonSet':
      return new DaemonSet(object);
    case 'Job':
      return new Job(object);
    case 'Rollout':
      return new Rollout(object);
    case 'AnalysisTemplate':
      return new AnalysisTemplate(object);
    default:
      return undefined;
  }
}
