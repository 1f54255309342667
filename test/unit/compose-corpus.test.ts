/**
 * Every project of the Compose corpus loads, validates (base and overlays) and plans; each Compose
 * key envctl cannot run yet is named at its `file:line:col` (validate/plan: warning; a command that
 * runs the definition: error), and nothing else is.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDefinition, validateAllEnvironments, type LoadOptions } from '../../src/definition/resolve.js';
import { DefinitionError, type Diagnostic } from '../../src/errors.js';
import { preparePlan } from '../../src/plan/prepare-plan.js';
import { corpusProjects, type CorpusProject } from '../support/compose-corpus.js';

const projects = corpusProjects();

function options(project: CorpusProject, extra: Partial<LoadOptions> = {}): LoadOptions {
  const privileged = project.expect.allowPrivileged === true;
  return { cwd: project.dir, file: project.file, processEnv: {}, allowPrivileged: privileged, ...(privileged ? { allowOutside: ['/'] } : {}), ...extra };
}

/** The text written at a diagnostic's line and column. */
function textAt(project: CorpusProject, diagnostic: Diagnostic): string {
  const line = readFileSync(join(project.dir, diagnostic.file), 'utf8').split('\n')[diagnostic.line - 1] ?? '';
  return line.slice(diagnostic.col - 1);
}

describe('Compose corpus', () => {
  it('has at least 25 projects', () => {
    expect(projects.length).toBeGreaterThanOrEqual(25);
  });

  it.each(projects)('$name validates and plans; unsupported keys are named where they are written', async (project) => {
    const models = await validateAllEnvironments(options(project, { unsupportedKeys: 'warn' }));
    expect(Object.keys(models[0]!.services).length).toBeGreaterThan(0);

    const { model, plan } = await preparePlan({ load: options(project, { unsupportedKeys: 'warn' }), engine: undefined, removeOrphans: false });
    const created = plan.actions.filter((action) => action.subject === 'service' && action.kind === 'create').map((action) => action.name);
    expect(created.sort()).toEqual(Object.keys(model.services).sort());

    const named = model.warnings.filter((warning) => warning.code === 'UNSUPPORTED_KEY');
    expect(named.map((warning) => warning.path).sort()).toEqual([...(project.expect.unsupported ?? [])].sort());
    for (const warning of named) {
      const key = warning.path.split('.').at(-1)!;
      // The location is the key itself (in an anchor when a merge key brought it in).
      expect(textAt(project, warning), `${warning.file}:${warning.line}:${warning.col}`).toMatch(new RegExp(`^${key}:`));
      expect(warning.message).toContain(`\`${key}\` is not supported by envctl yet`);
    }
  });

  const withUnsupported = projects.filter((project) => (project.expect.unsupported ?? []).length > 0);
  it.each(withUnsupported)('$name: a command that runs it refuses each unsupported key by name (exit 2)', async (project) => {
    const error = await loadDefinition(options(project)).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(DefinitionError);
    const diagnostics = (error as DefinitionError).diagnostics;
    expect((error as DefinitionError).exitCode).toBe(2);
    // Host-namespace settings (`pid: host`) are refused as privileged, still by name at their key.
    const keys = new Set(diagnostics.filter((diagnostic) => diagnostic.code === 'UNSUPPORTED_KEY' || diagnostic.code === 'PRIVILEGED_SETTING').map((diagnostic) => textAt(project, diagnostic).split(':')[0]));
    const expected = new Set((project.expect.unsupported ?? []).map((path) => path.split('.').at(-1)));
    expect(keys).toEqual(expected);
  });
});

describe('what docker-compose 1.29 cannot read (29-compose-v2-only), read the way Compose v2 does', () => {
  it('reads name, nested defaults, ${VAR:+alt}, booleans, env_file {path, required}, long-form host_ip, depends_on restart/required, start_interval, build without context', async () => {
    const project = projects.find((entry) => entry.name === '29-compose-v2-only')!;
    const model = await loadDefinition(options(project, { processEnv: { TAG: '7' } }));
    expect(model.project).toBe('v2-only');
    const api = model.services.api!;
    expect(api.image).toBe('example/api:7');
    expect(api.environment).toMatchObject({ NESTED: 'deep', ALT: 'tagged', ENABLED: 'true', FROM_DEFAULTS: 'yes' });
    expect(api.ports).toEqual([expect.objectContaining({ target: 9229, published: 9229, hostIp: '127.0.0.1', protocol: 'tcp' })]);
    expect(api.dependsOn.db).toEqual({ condition: 'service_healthy', required: true, restart: true });
    expect(api.healthcheck).toMatchObject({ disabled: false, startPeriodMs: 30_000, startIntervalMs: 1000 });
    expect(api.build).toMatchObject({ context: project.dir, dockerfile: 'Dockerfile' });
    // An optional dependency on a service whose profile is off is dropped, like Compose.
    expect(Object.keys(model.services).sort()).toEqual(['api', 'db', 'web']);
  });
});
