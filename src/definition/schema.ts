/**
 * The definition format as one zod schema: the single source of truth for validation, for the
 * normalised types (`z.output`) and for the JSON Schema editors use (`envctl schema`).
 * Compose's short and long forms are accepted and normalised here, so later stages see one shape.
 */
import * as z from 'zod';
import {
  DURATION_PATTERN,
  parseByteSize,
  parseCommandWords,
  parseDurationMs,
  parseFraction,
  parseKeyValueList,
  parsePortNumber,
  parsePortShort,
  parseVolumeShort,
  ValueProblem,
  type Mount,
  type PortBinding,
} from './values.js';
import { deploySchema, fileGrantsSchema, fileObjectSchema } from './deploy-schema.js';

/** Runs a value parser inside a transform, turning its ValueProblem into a zod issue with the hint attached. */
function parseWith<I, O>(parse: (input: I) => O) {
  return (input: I, ctx: z.core.$RefinementCtx<I>): O => {
    try {
      return parse(input);
    } catch (error) {
      if (!(error instanceof ValueProblem)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message, params: { hint: error.hint }, input });
      return z.NEVER;
    }
  };
}

const NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const RESTART_PATTERN = /^(no|always|unless-stopped|on-failure(:\d+)?)$/;
const PROJECT_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;
const SERVICE_REF = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*:.+$/;
export const FEATURE_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;

/** Hints for values that fail a pattern, keyed by the pattern as zod reports it (`/…/`); regex checks carry no params. */
export const PATTERN_HINTS: Readonly<Record<string, string>> = {
  [String(NAME_PATTERN)]: 'names use letters, digits, _ . - and start with a letter or digit',
  [String(RESTART_PATTERN)]: 'use no, always, unless-stopped, on-failure or on-failure:N',
  [String(PROJECT_PATTERN)]: 'use lowercase letters, digits, - and _, starting with a letter or digit',
  [String(new RegExp(DURATION_PATTERN))]: 'write a number with a unit: 500ms, 30s, 1m30s, 2h',
};
const name = (what: string) =>
  z.string().regex(NAME_PATTERN, { error: (issue) => `invalid ${what} name "${String(issue.input)}"` });

export const durationSchema = z
  .string({ error: (issue) => `expected a duration such as 30s, got ${describe(issue.input)}` })
  .regex(new RegExp(DURATION_PATTERN), { error: (issue) => `invalid duration "${String(issue.input)}"` })
  .transform(parseWith(parseDurationMs))
  .meta({ description: 'Go-style duration: 500ms, 30s, 1m30s, 2h' });

const portNumber = z
  .union([z.number(), z.string()])
  .transform(parseWith((value: number | string) => parsePortNumber(value, 'port')))
  .meta({ description: 'port number, 1-65535' });

const stringish = z.union([z.string(), z.number(), z.boolean()]).transform((value) => String(value));

/** `{KEY: value}` or `["KEY=value", "KEY"]`; `null`/missing value means "take it from the host environment". */
const keyValues = (what: string) =>
  z.union([
    z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]).transform((value) => (value === null ? null : String(value)))),
    z.array(z.string()).transform(parseWith((items: string[]) => parseKeyValueList(items, what))),
  ]);

const stringMap = (what: string) =>
  keyValues(what).transform(
    parseWith((values: Record<string, string | null>) => {
      const out: Record<string, string> = {};
      for (const [key, value] of Object.entries(values)) out[key] = value ?? '';
      return out;
    }),
  );

/** C0 controls except tab and newline, DEL and C1: in an argument they only serve to spoof a terminal (e.g. the trust display). */
// eslint-disable-next-line no-control-regex
const ARGV_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

const command = z
  .union([z.string().transform(parseWith(parseCommandWords)), z.array(stringish).min(1, { error: 'the command list is empty' })])
  .superRefine((argv, ctx) => {
    argv.forEach((arg, index) => {
      const found = ARGV_CONTROLS.exec(arg);
      if (found) {
        const code = found[0].charCodeAt(0).toString(16).padStart(2, '0');
        ctx.addIssue({ code: 'custom', path: [index], message: `argument ${index + 1} contains the control character \\x${code} (terminal escapes are refused in commands)`, params: { hint: 'remove it; write a script file if you need special characters' } });
      }
    });
  })
  .meta({ description: 'a list of arguments (preferred), or one string split into words without a shell' });

const buildSchema = z.union([
  z.string().transform((context) => ({ context, dockerfile: 'Dockerfile', args: {} as Record<string, string>, target: undefined as string | undefined })),
  z.strictObject({
    context: z.string().default('.'),
    dockerfile: z.string().default('Dockerfile'),
    args: stringMap('build arg').default({}),
    target: z.string().optional(),
  }),
]);

const healthcheckSchema = z
  .strictObject({
    test: z
      .union([z.string().transform((shell) => ['CMD-SHELL', shell]), z.array(z.string()).min(1)])
      .refine((test) => ['NONE', 'CMD', 'CMD-SHELL'].includes(test[0]!), {
        error: 'a healthcheck test list must start with "CMD", "CMD-SHELL" or "NONE"',
        params: { hint: 'e.g. ["CMD", "pg_isready", "-U", "app"] or a string run by the container shell' },
      })
      .optional(),
    interval: durationSchema.optional(),
    timeout: durationSchema.optional(),
    retries: z.number().int().min(0).optional(),
    start_period: durationSchema.optional(),
    start_interval: durationSchema.optional(),
    disable: z.boolean().optional(),
  })
  .superRefine((check, ctx) => {
    if (check.start_interval !== undefined && check.start_period === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['start_interval'],
        message: 'start_interval only applies during start_period, which is not set',
        params: { hint: 'add start_period (e.g. 20s) or remove start_interval' },
      });
    }
    if (!check.disable && check.test === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'the healthcheck has no test', params: { hint: 'add test: ["CMD", ...] or disable: true' } });
    }
  })
  .transform((check) => {
    const disabled = check.disable === true || check.test?.[0] === 'NONE';
    if (disabled) return { disabled: true as const };
    // Docker's defaults, made explicit so the config hash does not depend on the engine.
    return {
      disabled: false as const,
      test: check.test!,
      intervalMs: check.interval ?? 30_000,
      timeoutMs: check.timeout ?? 30_000,
      retries: check.retries ?? 3,
      startPeriodMs: check.start_period ?? 0,
      startIntervalMs: check.start_interval ?? 5_000,
    };
  });

export const dependencyConditions = ['service_started', 'service_healthy', 'service_completed_successfully'] as const;

const dependsOnSchema = z.union([
  z.array(name('service')).transform(
    parseWith((names: string[]) => {
      const out: Record<string, { condition: (typeof dependencyConditions)[number]; required: boolean; restart: boolean }> = {};
      for (const service of names) {
        if (Object.hasOwn(out, service)) throw new ValueProblem(`"${service}" is listed twice in depends_on`, 'keep one entry');
        out[service] = { condition: 'service_started', required: true, restart: false };
      }
      return out;
    }),
  ),
  z.record(
    name('service'),
    z.strictObject({
      condition: z.enum(dependencyConditions).default('service_started'),
      required: z.boolean().default(true),
      restart: z.boolean().default(false),
    }),
  ),
]);

const portLongSchema = z
  .strictObject({
    target: portNumber,
    published: z.union([z.number(), z.string()]).optional(),
    host_ip: z.string().optional(),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
    mode: z.enum(['host', 'ingress']).optional(),
    name: z.string().optional(),
    app_protocol: z.string().optional(),
  })
  .transform(
    parseWith((port): PortBinding[] => [
      {
        target: port.target,
        published: port.published === undefined || port.published === '' ? undefined : parsePortNumber(port.published, 'host port'),
        hostIp: port.host_ip || '127.0.0.1',
        protocol: port.protocol,
        ...(port.mode ? { mode: port.mode } : {}),
      },
    ]),
  );

const portsSchema = z
  .array(z.union([z.union([z.string(), z.number()]).transform(parseWith(parsePortShort)), portLongSchema]))
  .meta({ description: 'published ports; without a host address they bind 127.0.0.1 (Compose binds all interfaces)' });

const volumeLongSchema = z
  .strictObject({
    type: z.enum(['volume', 'bind', 'tmpfs']),
    source: z.string().optional(),
    target: z.string().startsWith('/', { error: 'the container path must be absolute (start it with /)' }),
    read_only: z.boolean().default(false),
    bind: z.strictObject({ create_host_path: z.boolean().optional() }).optional(),
    volume: z.strictObject({ nocopy: z.boolean().optional() }).optional(),
    tmpfs: z.strictObject({ size: z.union([z.string(), z.number()]).transform(parseWith(parseByteSize)).optional() }).optional(),
  })
  .superRefine((mount, ctx) => {
    if (mount.type === 'bind' && !mount.source) ctx.addIssue({ code: 'custom', path: ['source'], message: 'a bind mount needs a source path' });
    if (mount.type === 'tmpfs' && mount.source) ctx.addIssue({ code: 'custom', path: ['source'], message: 'a tmpfs mount has no source' });
  })
  .transform(
    (mount): Mount => ({
      type: mount.type,
      source: mount.source,
      target: mount.target,
      readOnly: mount.read_only,
      ...(mount.type === 'tmpfs' && mount.tmpfs?.size !== undefined ? { tmpfsSize: mount.tmpfs.size } : {}),
    }),
  );

const volumesSchema = z.array(z.union([z.string().transform(parseWith(parseVolumeShort)), volumeLongSchema]));

const serviceNetworksSchema = z.union([
  z.array(name('network')).transform((names) => Object.fromEntries(names.map((network) => [network, { aliases: [] as string[] }]))),
  z.record(
    name('network'),
    z
      .union([z.null(), z.strictObject({ aliases: z.array(z.string()).default([]) })])
      .transform((entry) => ({ aliases: entry?.aliases ?? [] })),
  ),
]);

const restartSchema = z
  .string()
  .regex(RESTART_PATTERN, {
    error: (issue) => `invalid restart policy "${String(issue.input)}"`,
  });

export const serviceSchema = z.strictObject({
  image: z.string().min(1).optional(),
  build: buildSchema.optional(),
  command: command.nullable().optional(),
  entrypoint: command.nullable().optional(),
  environment: keyValues('environment variable').default({}),
  env_file: z
    .union([z.string(), z.array(z.union([z.string(), z.strictObject({ path: z.string().min(1), required: z.boolean().default(true) })]))])
    .transform((files) => (Array.isArray(files) ? files : [files]).map((file) => (typeof file === 'string' ? { path: file, required: true } : file)))
    .default([])
    .meta({ description: 'one path, or a list of paths or {path, required} (Compose: required: false skips a missing file)' }),
  ports: portsSchema.default([]),
  expose: z.array(z.union([z.string(), z.number()]).transform((port) => String(port))).default([]),
  volumes: volumesSchema.default([]),
  networks: serviceNetworksSchema.optional(),
  depends_on: dependsOnSchema.default({}),
  healthcheck: healthcheckSchema.optional(),
  restart: restartSchema.default('no'),
  labels: stringMap('label').default({}),
  working_dir: z.string().optional(),
  user: z.union([z.string(), z.number()]).transform((user) => String(user)).optional(),
  init: z.boolean().default(true).meta({ description: 'run an init process as PID 1 (envctl default: true, unlike Compose)' }),
  stop_signal: z.string().optional(),
  stop_grace_period: durationSchema.optional(),
  profiles: z.array(z.string()).default([]),
  deploy: deploySchema.optional().meta({ description: 'Compose deploy subset: replicas, update_config, rollback_config, restart_policy, placement, resources, endpoint_mode (the swarm target uses all; local up applies resources.limits)' }),
  secrets: fileGrantsSchema.meta({ description: 'secrets (top-level `secrets:`) mounted read-only at /run/secrets/<name> or `target`' }),
  configs: fileGrantsSchema.meta({ description: 'configs (top-level `configs:`) mounted read-only at /<name> or `target`' }),
  features: z
    .array(z.string().regex(FEATURE_PATTERN, { error: (issue) => `invalid feature name "${String(issue.input)}"` }))
    .default([])
    .meta({ description: 'envctl: the toggles (from `features:`) this service uses; each is injected as FEATURE_<NAME>, and only these services are recreated when one changes' }),
});

const volumeSchema = z
  .union([
    z.null(),
    z.strictObject({
      driver: z.string().optional(),
      driver_opts: stringMap('driver option').optional(),
      external: z.boolean().optional(),
      labels: stringMap('label').optional(),
      name: z.string().optional(),
    }),
  ])
  .transform((volume) => ({
    driver: volume?.driver ?? 'local',
    driverOpts: volume?.driver_opts ?? {},
    external: volume?.external ?? false,
    labels: volume?.labels ?? {},
    name: volume?.name,
  }));

const networkSchema = z
  .union([
    z.null(),
    z.strictObject({
      driver: z.string().optional(),
      driver_opts: stringMap('driver option').optional(),
      external: z.boolean().optional(),
      internal: z.boolean().optional(),
      attachable: z.boolean().optional(),
      labels: stringMap('label').optional(),
      name: z.string().optional(),
    }),
  ])
  .transform((network) => ({
    driver: network?.driver ?? 'bridge',
    driverOpts: network?.driver_opts ?? {},
    external: network?.external ?? false,
    internal: network?.internal ?? false,
    attachable: network?.attachable ?? false,
    labels: network?.labels ?? {},
    name: network?.name,
  }));

const fraction = z.union([z.string(), z.number()]).transform(parseWith(parseFraction));

const stageCommandSchema = z.strictObject({
  run: command,
  service: name('service').optional().meta({ description: 'run inside this service image instead of on the host' }),
  environment: stringMap('environment variable').default({}),
  timeout: durationSchema.optional(),
});

const perfSchema = z.strictObject({
  target: name('service'),
  path: z.string().startsWith('/').default('/'),
  port: portNumber.optional(),
  duration: durationSchema.default(15_000),
  connections: z.number().int().min(1).max(1000).default(10),
  thresholds: z
    .strictObject({
      p50: durationSchema.optional(),
      p95: durationSchema.optional(),
      p99: durationSchema.optional(),
      errors: fraction.optional(),
      rps: z.number().positive().optional(),
    })
    .default({}),
  tolerance: fraction.default(0.1).meta({ description: 'allowed regression against the median of recent passing runs' }),
});

const svcRef = (what: string, example: string) =>
  z.string().regex(SERVICE_REF, { error: (issue) => `invalid ${what} "${String(issue.input)}": write SERVICE:${example}` });

/** `SERVICE:rest` → its two parts (the schema has checked the shape). */
function splitRef(ref: string): [string, string] {
  const index = ref.indexOf(':');
  return [ref.slice(0, index), ref.slice(index + 1)];
}

const checkName = z.string().min(1).optional().meta({ description: 'shown in reports; default: the check itself, e.g. "port web:3000"' });

/**
 * Infrastructure checks (goss/InSpec style), normalised to `{ kind, service, … }`. `port` listens
 * inside and is reachable on its published port; `mount` is a mount point (rw/ro); `file` exists
 * (mode, sha256, contents); `certificate` is a valid PEM certificate for `minDays` more days;
 * `env` is set (equals / matches); `http` answers with `status` (body contains); `command` exits
 * with `exitCode` (output contains).
 */
const checkSchema = z.union([
  z.strictObject({ name: checkName, port: svcRef('port check', '3000') }).transform(parseWith((check) => {
    const [service, port] = splitRef(check.port);
    return { kind: 'port' as const, name: check.name ?? `port ${check.port}`, service, port: parsePortNumber(port, 'port') };
  })),
  z.strictObject({ name: checkName, mount: svcRef('mount check', '/path'), mode: z.enum(['rw', 'ro']).optional() }).transform((check) => {
    const [service, path] = splitRef(check.mount);
    return { kind: 'mount' as const, name: check.name ?? `mount ${check.mount}`, service, path, mode: check.mode };
  }),
  z
    .strictObject({
      name: checkName,
      file: svcRef('file check', '/path'),
      mode: z.string().regex(/^0?[0-7]{3,4}$/, { error: 'a file mode is octal, e.g. "0644"' }).optional(),
      sha256: z.string().regex(/^[a-f0-9]{64}$/, { error: 'sha256 is 64 lowercase hex digits' }).optional(),
      contains: z.string().optional(),
    })
    .transform((check) => {
      const [service, path] = splitRef(check.file);
      return { kind: 'file' as const, name: check.name ?? `file ${check.file}`, service, path, mode: check.mode, sha256: check.sha256, contains: check.contains };
    }),
  z
    .strictObject({ name: checkName, certificate: svcRef('certificate check', '/path.pem'), minDays: z.number().int().min(0).default(14), subject: z.string().optional() })
    .transform((check) => {
      const [service, path] = splitRef(check.certificate);
      return { kind: 'certificate' as const, name: check.name ?? `certificate ${check.certificate}`, service, path, minDays: check.minDays, subject: check.subject };
    }),
  z
    .strictObject({
      name: checkName,
      http: svcRef('http check', '/healthz'),
      port: portNumber.optional().meta({ description: 'container port; default: the service\'s first published port' }),
      status: z.number().int().min(100).max(599).default(200),
      contains: z.string().optional(),
    })
    .transform((check) => {
      const [service, path] = splitRef(check.http);
      return { kind: 'http' as const, name: check.name ?? `http ${check.http}`, service, path: path.startsWith('/') ? path : `/${path}`, port: check.port, status: check.status, contains: check.contains };
    }),
  z.strictObject({ name: checkName, env: svcRef('env check', 'NAME'), value: z.string().optional(), matches: z.string().refine(isRegExp, { error: 'matches is not a valid regular expression' }).optional() }).transform((check) => {
    const [service, variable] = splitRef(check.env);
    return { kind: 'env' as const, name: check.name ?? `env ${check.env}`, service, variable, value: check.value, matches: check.matches };
  }),
  z
    .strictObject({ name: checkName, command: name('service'), run: command, exitCode: z.number().int().min(0).max(255).default(0), contains: z.string().optional() })
    .transform((check) => ({ kind: 'command' as const, name: check.name ?? `command ${check.command}: ${check.run.join(' ')}`, service: check.command, run: check.run, exitCode: check.exitCode, contains: check.contains })),
]);

export type InfraCheck = z.output<typeof checkSchema>;

const releaseSchema = z
  .strictObject({
    service: name('service'),
    strategy: z.enum(['canary', 'bluegreen']).default('canary'),
    baseline: z.enum(['fresh', 'production']).default('fresh'),
    steps: z
      .array(z.number().gt(0).max(100).meta({ description: 'percentage of traffic for the canary at this step' }))
      .min(1)
      .default([10, 25, 50]),
    stepMinDuration: durationSchema.default(30_000),
    stepMinRequests: z.number().int().min(1).default(400),
    stepMaxDuration: durationSchema.default(600_000),
    readyTimeout: durationSchema.default(120_000).meta({ description: 'how long the canary and its baseline may take to become ready (healthy, or running without a healthcheck); not ready by then → rolled back, nothing routed to it' }),
    warmup: z.strictObject({ seconds: z.number().min(0).default(10), requests: z.number().int().min(0).default(20) }).default({ seconds: 10, requests: 20 }),
    alpha: z.number().gt(0).lt(1).default(0.01),
    counts: z.strictObject({ oddsRatio: z.number().gt(1).default(3) }).default({ oddsRatio: 3 }),
    latency: z
      .strictObject({
        minShiftMs: z.number().min(0).default(5),
        minShiftRatio: z.number().min(1).default(1.1),
        slowThreshold: z.union([z.literal('baselineP95'), durationSchema]).default('baselineP95'),
      })
      .default({ minShiftMs: 5, minShiftRatio: 1.1, slowThreshold: 'baselineP95' }),
    slo: z.strictObject({ latencyMs: z.number().positive().optional() }).default({}),
    guardrails: z
      .strictObject({
        consecutiveBad: z.number().int().min(1).default(5),
        maxBadRate: z.number().gt(0).max(1).default(0.5),
        minRequests: z.number().int().min(1).default(10),
      })
      .default({ consecutiveBad: 5, maxBadRate: 0.5, minRequests: 10 }),
    load: z
      .strictObject({ rps: z.number().min(0).default(50), seed: z.string().optional(), path: z.string().startsWith('/').default('/') })
      .default({ rps: 50, path: '/' }),
    gates: z
      .strictObject({ beforePromote: z.enum(['auto', 'manual']).default('auto'), beforeStep: z.array(z.number()).default([]) })
      .default({ beforePromote: 'auto', beforeStep: [] }),
    gateTimeout: durationSchema.default(1_800_000),
    retainPrevious: durationSchema.default(3_600_000),
    sticky: z.enum(['none', 'cookie']).default('none'),
    port: portNumber.optional().meta({ description: 'host port of the release proxy on 127.0.0.1; default: chosen by the engine (shown by `envctl release status`)' }),
    logErrorPattern: z.string().default('\\b(ERROR|FATAL|panic|Traceback|Unhandled)\\b'),
    onRegression: z.enum(['rollback', 'pause']).default('rollback'),
    notify: z
      .strictObject({ webhook: z.url({ protocol: /^https?$/ }).nullable().default(null).meta({ description: 'receives every release transition as a JSON POST' }) })
      .default({ webhook: null }),
  })
  .superRefine((release, ctx) => {
    if (release.baseline === 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['baseline'],
        message: 'baseline: production is not supported yet (the judge compares the canary with a fresh baseline)',
        params: { hint: 'remove `baseline:` (the default is fresh)' },
      });
    }
    release.steps.forEach((step, index) => {
      const previous = release.steps[index - 1];
      if (previous !== undefined && step <= previous) {
        ctx.addIssue({ code: 'custom', path: ['steps', index], message: `step weights must increase: ${step}% follows ${previous}%` });
      }
      const isFinalPromote = step === 100 && index === release.steps.length - 1;
      if (release.baseline === 'fresh' && step > 50 && !isFinalPromote) {
        ctx.addIssue({
          code: 'custom',
          path: ['steps', index],
          message: `a step of ${step}% is impossible with a fresh baseline (canary and baseline each get the step's share)`,
          params: { hint: 'keep steps at or below 50: promotion follows the last step' },
        });
      }
    });
    try {
      new RegExp(release.logErrorPattern);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['logErrorPattern'], message: 'logErrorPattern is not a valid regular expression' });
    }
  })
  // A trailing 100 only spells out "then promote".
  .transform((release) => ({ ...release, steps: release.steps.at(-1) === 100 ? release.steps.slice(0, -1) : release.steps }));

const notifySchema = z
  .strictObject({
    webhook: z.url({ protocol: /^https?$/ }).optional().meta({ description: 'receives the run summary as a JSON POST' }),
    command: command.optional().meta({ description: 'run on the host with the JSON summary on stdin' }),
    on: z.array(z.enum(['success', 'failure'])).default(['success', 'failure']),
  })
  .refine((notify) => notify.webhook !== undefined || notify.command !== undefined, { error: 'notify needs a webhook or a command' });

const pipelineSchema = z.strictObject({
  build: stageCommandSchema.optional(),
  integration: stageCommandSchema.optional(),
  perf: perfSchema.optional(),
  staging: z
    .strictObject({
      checks: z.array(checkSchema).default([]),
      timeout: durationSchema.default(30_000).meta({ description: 'each check is retried until it passes or this much time has passed' }),
    })
    .optional(),
  release: releaseSchema.optional(),
  notify: notifySchema.optional(),
});

const topLevelShape = {
  name: z
    .string()
    .regex(PROJECT_PATTERN, {
      error: (issue) => `invalid project name "${String(issue.input)}"`,
    })
    .optional(),
  version: z.union([z.string(), z.number()]).optional().meta({ description: 'obsolete (Compose); ignored' }),
  include: z
    .array(z.union([z.string().min(1), z.strictObject({ path: z.string().min(1) }).transform((entry) => entry.path)]))
    .optional()
    .meta({ description: 'other definitions loaded as their own models (paths relative to each file), merged into this one' }),
  services: z.record(name('service'), serviceSchema).default({}),
  volumes: z.record(name('volume'), volumeSchema).default({}),
  networks: z.record(name('network'), networkSchema).default({}),
  secrets: z.record(name('secret'), fileObjectSchema('secret')).default({}),
  configs: z.record(name('config'), fileObjectSchema('config')).default({}),
  features: z.record(z.string().regex(FEATURE_PATTERN, { error: 'invalid feature name' }), z.boolean({ error: 'a feature is true or false' })).default({}),
  pipeline: pipelineSchema.optional(),
};

/** One environment as it is run: the base with the chosen overlay applied. */
export const definitionSchema = z.strictObject(topLevelShape);

/**
 * The file as written: the same, plus `environments:`, whose overlays are partial definitions
 * merged over the base (validated after merging).
 */
const environmentsSchema = z
  .record(name('environment'), z.union([z.null(), z.record(z.string(), z.unknown())]))
  .optional()
  .meta({ description: 'overlays: maps merge, lists and scalars replace, null removes' });

export const definitionFileSchema = z.strictObject({ ...topLevelShape, environments: environmentsSchema });

/** Checked before interpolation and merging: only the shape of `environments:` itself. */
export const environmentsShapeSchema = z.looseObject({ environments: environmentsSchema });

export type ResolvedDefinitionInput = z.output<typeof definitionSchema>;
export type ServiceInput = z.output<typeof serviceSchema>;
export type ReleaseConfig = z.output<typeof releaseSchema>;
export type PipelineConfig = z.output<typeof pipelineSchema>;
export type PerfConfig = z.output<typeof perfSchema>;
export type StageCommand = z.output<typeof stageCommandSchema>;
export type NotifyConfig = z.output<typeof notifySchema>;

/**
 * Keys of the Compose specification that envctl does not run yet: named as "not supported yet"
 * instead of "unknown", so nothing is dropped silently.
 */
export const COMPOSE_SERVICE_KEYS = [
  'annotations', 'attach', 'blkio_config', 'cap_add', 'cap_drop', 'cgroup', 'cgroup_parent', 'container_name',
  'cpu_count', 'cpu_percent', 'cpu_period', 'cpu_quota', 'cpu_rt_period', 'cpu_rt_runtime', 'cpu_shares', 'cpus', 'cpuset',
  'credential_spec', 'develop', 'device_cgroup_rules', 'devices', 'dns', 'dns_opt', 'dns_search', 'domainname',
  'driver_opts', 'extends', 'external_links', 'extra_hosts', 'gpus', 'group_add', 'hostname', 'ipc', 'isolation', 'label_file',
  'links', 'logging', 'mac_address', 'mem_limit', 'mem_reservation', 'mem_swappiness', 'memswap_limit', 'network_mode',
  'oom_kill_disable', 'oom_score_adj', 'pid', 'pids_limit', 'platform', 'post_start', 'pre_stop', 'privileged', 'provider',
  'pull_policy', 'read_only', 'runtime', 'scale', 'security_opt', 'shm_size', 'stdin_open', 'storage_opt', 'sysctls',
  'tmpfs', 'tty', 'ulimits', 'use_api_socket', 'userns_mode', 'uts', 'volumes_from',
];
export const COMPOSE_TOP_LEVEL_KEYS = ['models'];
export const COMPOSE_BUILD_KEYS = [
  'additional_contexts', 'cache_from', 'cache_to', 'dockerfile_inline', 'entitlements', 'extra_hosts', 'isolation', 'labels',
  'network', 'no_cache', 'platforms', 'privileged', 'pull', 'secrets', 'shm_size', 'ssh', 'tags', 'ulimits',
];
export const COMPOSE_NETWORK_ATTACH_KEYS = ['ipv4_address', 'ipv6_address', 'link_local_ips', 'mac_address', 'priority', 'gw_priority', 'driver_opts', 'interface_name'];

function isRegExp(pattern: string): boolean {
  try {
    new RegExp(pattern);
    return true;
  } catch {
    return false;
  }
}

function describe(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return `${typeof input} ${JSON.stringify(input)}`;
}
