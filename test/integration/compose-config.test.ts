/**
 * envctl's normalised model of every Compose corpus project, field by field against what
 * `docker-compose config` (Debian's docker-compose 1.29) prints for the same file(s). Needs no
 * engine: `config` only reads files. Without docker-compose the file is skipped with a message,
 * unless CI=true, where a missing docker-compose fails.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { COMPOSE_OVERRIDE_FILE_NAMES } from '../../src/definition/compose-files.js';
import { renderComposeFile } from '../../src/definition/export-compose.js';
import { loadDefinition, type LoadOptions } from '../../src/definition/resolve.js';
import { corpusProjects, type CorpusProject } from '../support/compose-corpus.js';
import { normaliseCompose, normaliseEnvctl, type NormalProject } from '../support/compose-normal.js';

/** Both sides interpolate from the same, minimal environment (no COMPOSE_* or ENVCTL_* of the machine). */
const ENV: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' };

const composeVersion = await execa('docker-compose', ['version', '--short'], { reject: false, env: ENV, extendEnv: false });
const haveCompose = composeVersion.exitCode === 0;
const inCi = process.env.CI === 'true';
if (!haveCompose && !inCi) {
  console.warn('compose-config.test.ts skipped: docker-compose is not installed (scripts/setup.sh installs Debian’s docker-compose); with CI=true this fails instead');
}

async function composeConfig(project: CorpusProject, files: readonly string[], profiles: readonly string[] = []): Promise<Record<string, unknown>> {
  const args = [...files.flatMap((file) => ['-f', file]), ...profiles.flatMap((profile) => ['--profile', profile]), 'config'];
  const result = await execa('docker-compose', args, { cwd: project.dir, env: ENV, extendEnv: false, reject: false });
  if (result.exitCode !== 0) throw new Error(`docker-compose ${args.join(' ')} failed in ${project.name}:\n${result.stderr}`);
  return parse(result.stdout) as Record<string, unknown>;
}

function loadOptions(project: CorpusProject, files: readonly string[], profiles: readonly string[]): LoadOptions {
  const privileged = project.expect.allowPrivileged === true;
  return {
    cwd: project.dir,
    file: files[0],
    overrideFiles: files.slice(1),
    processEnv: ENV,
    profiles,
    unsupportedKeys: 'warn',
    allowPrivileged: privileged,
    ...(privileged ? { allowOutside: ['/'] } : {}),
  };
}

/** Every field that differs, as `service.field: envctl … ≠ docker-compose …` (empty when they match). */
function differences(envctl: NormalProject, peer: NormalProject): string[] {
  const out: string[] = [];
  const compare = (where: string, a: unknown, b: unknown) => {
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${where}: envctl ${JSON.stringify(a)} ≠ docker-compose ${JSON.stringify(b)}`);
  };
  compare('services', Object.keys(envctl.services).sort(), Object.keys(peer.services).sort());
  for (const [name, service] of Object.entries(envctl.services)) {
    const other = peer.services[name];
    if (!other) continue;
    for (const field of Object.keys(other) as Array<keyof typeof other>) compare(`services.${name}.${field}`, service[field], other[field]);
  }
  compare('volumes', envctl.volumes, peer.volumes);
  compare('networks', envctl.networks, peer.networks);
  return out;
}

interface Case {
  label: string;
  project: CorpusProject;
  files: string[];
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const project of corpusProjects()) {
    const fileSets = project.expect.fileSets ?? [[project.file]];
    if (project.expect.peer?.supported !== false) {
      for (const files of fileSets) out.push({ label: `${project.name} (${files.join(' + ')})`, project, files });
    }
    for (const file of project.expect.peerAlso ?? []) out.push({ label: `${project.name} (${file})`, project, files: [file] });
    // No -f: both look the file up and apply Compose's override file beside it.
    if (COMPOSE_OVERRIDE_FILE_NAMES.some((name) => existsSync(join(project.dir, name)))) out.push({ label: `${project.name} (lookup + override file)`, project, files: [] });
  }
  return out;
}

const all = cases();
const skipped = corpusProjects().filter((project) => project.expect.peer?.supported === false);

describe.runIf(haveCompose || inCi)('envctl and docker-compose config read the corpus alike', () => {
  it('docker-compose is installed (scripts/setup.sh)', () => {
    expect(composeVersion.exitCode, composeVersion.stderr || 'docker-compose not found').toBe(0);
  });

  it('compares the whole corpus (projects docker-compose 1.29 cannot read are named)', () => {
    expect(all.length).toBeGreaterThanOrEqual(25);
    for (const project of skipped) expect(project.expect.peer?.why, project.name).toMatch(/\w/);
  });

  it.each(all)('$label: every supported field matches', async ({ project, files }) => {
    // All profiles active: every service is compared (profiles themselves are a compared field).
    const model = await loadDefinition(loadOptions(project, files, ['*']));
    const peer = await normaliseCompose(await composeConfig(project, files));
    expect(differences(normaliseEnvctl(model), peer)).toEqual([]);
  });

  it.each(all.filter((entry) => entry.files.length > 0))('$label: `export compose` of the model reads back the same in docker-compose', async ({ project, files }) => {
    const model = await loadDefinition(loadOptions(project, files, ['*']));
    const out = await mkdtemp(join(tmpdir(), 'envctl-compose-export-'));
    try {
      await writeFile(join(out, 'compose.yaml'), renderComposeFile(model));
      const result = await execa('docker-compose', ['-p', 'roundtrip', '-f', 'compose.yaml', 'config'], { cwd: out, env: ENV, extendEnv: false, reject: false });
      expect(result.exitCode, result.stderr).toBe(0);
      const peer = await normaliseCompose(parse(result.stdout) as Record<string, unknown>);
      // The export applies profiles (README: `envctl export compose`): the services are written without them.
      const expected = normaliseEnvctl(model);
      for (const service of Object.values(expected.services)) service.profiles = [];
      expect(differences(expected, peer)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  const withProfiles = corpusProjects().filter((project) => project.expect.profileSets);
  it.each(withProfiles)('$name: the services a profile set enables are the ones Compose enables', async (project) => {
    const config = await composeConfig(project, [project.file]);
    const peerProfiles = Object.entries(config.services as Record<string, { profiles?: string[] }>);
    for (const profiles of project.expect.profileSets!) {
      const model = await loadDefinition(loadOptions(project, [project.file], profiles));
      // Compose's rule: a service without profiles always runs; one with profiles runs when one is enabled.
      const enabled = peerProfiles.filter(([, service]) => !service.profiles?.length || service.profiles.some((profile) => profiles.includes(profile))).map(([name]) => name);
      expect(Object.keys(model.services).sort(), `profiles [${profiles.join(', ')}]`).toEqual(enabled.sort());
    }
  });
});
