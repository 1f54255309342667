/**
 * The demo environment as a user runs it from the repository root: `envctl up` brings the whole
 * topology up healthy, the web API answers through its published port and reads from PostgreSQL,
 * a second `up` changes nothing, a changed environment variable recreates only that service, and
 * `down` (with `--volumes`) leaves nothing behind. Runs under its own project name and port so it
 * never touches a demo you have running.
 */
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { envctl } from '../support/cli.js';
import { containerIdentities, docker, removeProject, uniqueProject } from '../support/docker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const project = uniqueProject('demo');
let port: number;
let env: Record<string, string>;

beforeAll(async () => {
  port = await freePort();
  env = { DEMO_PROJECT: project, DEMO_WEB_PORT: String(port) };
});
afterAll(async () => {
  await removeProject(project);
});

const containers = () => containerIdentities(project);

describe('the demo environment', () => {
  it('comes up healthy from the repository root and serves its API from PostgreSQL', async () => {
    const up = await envctl(['up', '--wait-timeout', '3m'], { cwd: ROOT, env });
    expect(up.stderr).toContain('done:');
    expect(up.exitCode).toBe(0);
    const status = JSON.parse(String((await envctl(['status', '--json'], { cwd: ROOT, env })).stdout));
    expect(status.services.map((row: { service: string; state: string; health?: string }) => `${row.service}:${row.state}:${row.health ?? '-'}`).sort()).toEqual([
      'cache:running:healthy',
      'db:running:healthy',
      'web:running:healthy',
      'worker:running:-',
    ]);

    const base = `http://127.0.0.1:${port}`;
    const created = await fetch(`${base}/api/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'envctl e2e' }) });
    expect(created.status).toBe(201);
    expect(created.headers.get('x-app-version')).toBeTruthy();
    const items = (await (await fetch(`${base}/api/items`)).json()) as { items: Array<{ name: string }> };
    expect(items.items.map((item) => item.name)).toContain('envctl e2e');
    // The row really is in PostgreSQL.
    const query = "select count(*) from items where name = 'envctl e2e'";
    const psql = await envctl(['exec', 'db', '-T', '--', 'sh', '-c', `PGPASSWORD=demo-local-only psql -h 127.0.0.1 -U app -d app -tAc "${query}"`], { cwd: ROOT, env });
    expect(psql.stderr).toBe('');
    expect(psql.exitCode).toBe(0);
    expect(String(psql.stdout).trim()).toBe('1');
  });

  it('keeps every container on a second up, and recreates only the service whose environment changed', async () => {
    const before = await containers();
    const again = await envctl(['up', '--json'], { cwd: ROOT, env });
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(String(again.stdout))).toMatchObject({ ok: true, changed: false });
    expect(await containers()).toEqual(before);

    const changed = await envctl(['up', '--json'], { cwd: ROOT, env: { ...env, LOG_LEVEL: 'debug' } });
    expect(changed.exitCode).toBe(0);
    const result = JSON.parse(String(changed.stdout)) as { services: Array<{ service: string; action: string }> };
    expect(Object.fromEntries(result.services.map((outcome) => [outcome.service, outcome.action]))).toEqual({ db: 'keep', cache: 'keep', web: 'recreate', worker: 'recreate' });
    const after = await containers();
    expect(after.get('db')).toEqual(before.get('db'));
    expect(after.get('cache')).toEqual(before.get('cache'));
    expect(after.get('web')!.id).not.toBe(before.get('web')!.id);
  });

  it('turns the new-checkout toggle on for web alone, which shows it in /api/version', async () => {
    const running = { ...env, LOG_LEVEL: 'debug' };
    const version = async () => (await (await fetch(`http://127.0.0.1:${port}/api/version`)).json()) as { checkout: string; features: Record<string, boolean> };
    expect(await version()).toMatchObject({ checkout: 'classic', features: { newCheckout: false } });
    const before = await containers();
    const enabled = await envctl(['feature', 'enable', 'new-checkout', '--json'], { cwd: ROOT, env: running });
    expect(enabled.exitCode).toBe(0);
    expect(JSON.parse(String(enabled.stdout))).toMatchObject({ changed: true, affected: ['web'], recreated: ['web'] });
    expect(await version()).toMatchObject({ checkout: 'new', features: { newCheckout: true } });
    const after = await containers();
    for (const service of ['db', 'cache', 'worker']) expect(after.get(service)).toEqual(before.get(service));
    // Back to the definition's value (the override is dropped).
    expect((await envctl(['feature', 'disable', 'new-checkout'], { cwd: ROOT, env: running })).exitCode).toBe(0);
    expect(await version()).toMatchObject({ checkout: 'classic' });
  });

  it('goes down leaving only the database volume, and down --volumes removes it too', async () => {
    const down = await envctl(['down'], { cwd: ROOT, env: { ...env, LOG_LEVEL: 'debug' } });
    expect(down.exitCode).toBe(0);
    const filters = { label: [`${LABEL.project}=${project}`] };
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect(await docker.listNetworks({ filters })).toEqual([]);
    expect(((await docker.listVolumes({ filters })).Volumes ?? []).map((volume) => volume.Name)).toEqual([`${project}_dbdata`]);
    const volumes = await envctl(['down', '--volumes'], { cwd: ROOT, env });
    expect(volumes.exitCode).toBe(0);
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port: chosen } = server.address() as { port: number };
      server.close(() => resolve(chosen));
    });
  });
}
