/**
 * Compose's `deploy:` subset envctl understands (replicas, update/rollback config, restart policy,
 * placement, resources, endpoint mode), and `secrets:` / `configs:` (files mounted into services).
 * Field names are Compose's; the output is normalised to milliseconds, bytes and nano-CPUs.
 * The swarm target uses all of it; the local target applies resource limits and names the rest.
 */
import * as z from 'zod';
import { DURATION_PATTERN, parseByteSize, parseDurationMs, ValueProblem } from './values.js';

const duration = z
  .string({ error: (issue) => `expected a duration such as 10s, got ${JSON.stringify(issue.input)}` })
  .regex(new RegExp(DURATION_PATTERN), { error: (issue) => `invalid duration "${String(issue.input)}"` })
  .transform(parseDurationMs)
  .meta({ description: 'Go-style duration: 500ms, 10s, 1m30s' });

const byteSize = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseByteSize(value);
  } catch (error) {
    if (!(error instanceof ValueProblem)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message, params: { hint: error.hint } });
    return z.NEVER;
  }
});

/** `cpus: "0.5"` or `0.5` → nano-CPUs (the engine's unit: 1e9 per CPU). */
const cpus = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const number = typeof value === 'number' ? value : /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isFinite(number) || number <= 0) {
    ctx.addIssue({ code: 'custom', message: `invalid cpus "${String(value)}"`, params: { hint: 'a positive number of CPUs, e.g. "0.5" or 2' } });
    return z.NEVER;
  }
  return Math.round(number * 1e9);
});

const updateConfig = (failureActions: readonly [string, ...string[]]) =>
  z
    .strictObject({
      parallelism: z.number().int().min(0).optional().meta({ description: 'tasks updated at once; 0 means all' }),
      delay: duration.optional(),
      failure_action: z.enum(failureActions).optional(),
      monitor: duration.optional().meta({ description: 'how long a new task is watched for failure' }),
      max_failure_ratio: z.number().min(0).max(1).optional(),
      order: z.enum(['stop-first', 'start-first']).optional(),
    })
    .transform((config) => ({
      parallelism: config.parallelism ?? 1,
      delayMs: config.delay ?? 0,
      failureAction: config.failure_action ?? 'pause',
      monitorMs: config.monitor ?? 5_000,
      maxFailureRatio: config.max_failure_ratio ?? 0,
      order: config.order ?? 'stop-first',
    }));

const resourceSet = z.strictObject({
  cpus: cpus.optional(),
  memory: byteSize.optional(),
  pids: z.number().int().min(1).optional(),
});

const CONSTRAINT = /^\s*[a-zA-Z][a-zA-Z0-9_.-]*(\.[a-zA-Z0-9_.-]+)*\s*(==|!=)\s*\S.*$/;

export const deploySchema = z
  .strictObject({
    mode: z.enum(['replicated', 'global']).optional(),
    replicas: z.number().int().min(0).optional(),
    endpoint_mode: z.enum(['vip', 'dnsrr']).optional(),
    labels: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional().meta({ description: 'labels on the swarm service (not its containers)' }),
    update_config: updateConfig(['continue', 'pause', 'rollback']).optional(),
    rollback_config: updateConfig(['continue', 'pause']).optional(),
    restart_policy: z
      .strictObject({
        condition: z.enum(['none', 'on-failure', 'any']).optional(),
        delay: duration.optional(),
        max_attempts: z.number().int().min(0).optional(),
        window: duration.optional(),
      })
      .optional(),
    placement: z
      .strictObject({
        constraints: z.array(z.string().regex(CONSTRAINT, { error: (issue) => `invalid placement constraint "${String(issue.input)}": write e.g. "node.role == manager"` })).optional(),
        preferences: z.array(z.strictObject({ spread: z.string().min(1) })).optional(),
        max_replicas_per_node: z.number().int().min(1).optional(),
      })
      .optional(),
    resources: z
      .strictObject({
        limits: resourceSet.optional(),
        reservations: resourceSet.omit({ pids: true }).optional(),
      })
      .optional(),
  })
  .superRefine((deploy, ctx) => {
    if (deploy.mode === 'global' && deploy.replicas !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['replicas'], message: 'replicas does not apply to mode: global (one task per node)', params: { hint: 'remove replicas, or use mode: replicated' } });
    }
  })
  .transform((deploy) => ({
    mode: deploy.mode ?? 'replicated',
    replicas: deploy.mode === 'global' ? undefined : (deploy.replicas ?? 1),
    endpointMode: deploy.endpoint_mode,
    labels: deploy.labels ?? {},
    updateConfig: deploy.update_config,
    rollbackConfig: deploy.rollback_config,
    restartPolicy: deploy.restart_policy
      ? { condition: deploy.restart_policy.condition ?? 'any', delayMs: deploy.restart_policy.delay, maxAttempts: deploy.restart_policy.max_attempts, windowMs: deploy.restart_policy.window }
      : undefined,
    placement: {
      constraints: (deploy.placement?.constraints ?? []).map((constraint) => constraint.trim()),
      preferences: (deploy.placement?.preferences ?? []).map((preference) => preference.spread),
      maxReplicasPerNode: deploy.placement?.max_replicas_per_node,
    },
    resources: {
      limits: { nanoCpus: deploy.resources?.limits?.cpus, memoryBytes: deploy.resources?.limits?.memory, pids: deploy.resources?.limits?.pids },
      reservations: { nanoCpus: deploy.resources?.reservations?.cpus, memoryBytes: deploy.resources?.reservations?.memory },
    },
  }));

export type DeployConfig = z.output<typeof deploySchema>;

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** A service's use of a secret or config: `- name` or `{ source, target, uid, gid, mode }`. */
export const fileGrantsSchema = z
  .array(
    z.union([
      z.string().regex(NAME, { error: (issue) => `invalid name "${String(issue.input)}"` }).transform((source) => ({ source, target: undefined as string | undefined, uid: undefined as string | undefined, gid: undefined as string | undefined, mode: undefined as number | undefined })),
      z.strictObject({
        source: z.string().regex(NAME, { error: (issue) => `invalid name "${String(issue.input)}"` }),
        target: z.string().min(1).optional(),
        uid: z.union([z.string(), z.number()]).transform(String).optional(),
        gid: z.union([z.string(), z.number()]).transform(String).optional(),
        // Octal as Compose writes it: `0440` (which YAML 1.2 reads as the number 440) or "0440".
        mode: z
          .union([z.number(), z.string()])
          .transform((value, ctx) => {
            const text = String(value);
            if (!/^0?[0-7]{3}$/.test(text)) {
              ctx.addIssue({ code: 'custom', message: `invalid file mode ${JSON.stringify(value)}`, params: { hint: 'write it in octal, e.g. 0440' } });
              return z.NEVER;
            }
            return Number.parseInt(text, 8);
          })
          .optional(),
      }),
    ]),
  )
  .default([]);

/**
 * A top-level secret or config: read from a file (relative to the definition). `environment:`,
 * `content:` and `external:` are Compose's other sources, not supported yet (named, not dropped).
 */
export const fileObjectSchema = (what: 'secret' | 'config') =>
  z
    .strictObject({
      file: z.string().min(1).optional(),
      name: z.string().optional(),
      labels: z.record(z.string(), z.string()).optional(),
      environment: z.string().optional(),
      content: z.string().optional(),
      external: z.boolean().optional(),
    })
    .superRefine((object, ctx) => {
      for (const key of ['environment', 'content', 'external'] as const) {
        if (object[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${what}s from \`${key}:\` are not supported yet`, params: { hint: `write the value to a file and use file: PATH` } });
      }
      const other = object.environment !== undefined || object.content !== undefined || object.external !== undefined;
      if (object.file === undefined && !other) ctx.addIssue({ code: 'custom', path: [], message: `the ${what} has no file`, params: { hint: 'add file: ./path/to/file (relative to the definition)' } });
    })
    .transform((object) => ({ file: object.file!, labels: object.labels ?? {} }));

export type FileGrantInput = z.output<typeof fileGrantsSchema>[number];
