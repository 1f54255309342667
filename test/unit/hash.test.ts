import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition } from '../../src/definition/resolve.js';
import { changedFields, hashService, parseFieldHashes, formatFieldHashes } from '../../src/plan/hash.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-hash-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function webHash(yaml: string) {
  const file = join(dir, `def-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, yaml);
  const model = await loadDefinition({ cwd: dir, file, processEnv: {} });
  const web = model.services.web!;
  return hashService(web, web.image!, model);
}

const ORIGINAL = `
name: shop
services:
  web:
    image: shop/web:1
    command: ["node", "server.js"]
    environment: { A: "1", B: "2" }
    ports: ["8080:3000", "9090:9000"]
    volumes: ["data:/data", "./src:/src:ro"]
    networks: { front: { aliases: [www, web] }, back: {} }
    depends_on: [db]
    healthcheck: { test: ["CMD", "true"], interval: 2s }
  db: { image: db }
volumes: { data: {} }
networks: { front: {}, back: {} }
`;

/** Same meaning, written differently: key order, comments, flow vs block style, list forms, list order. */
const EQUIVALENT = `
# a comment
services:
  db: { image: db }
  web:
    healthcheck:
      interval: 2s
      test: [CMD, "true"]
    depends_on: { db: { condition: service_started } }   # long form of the same dependency
    networks:
      back:
      front: { aliases: [web, www] }
    volumes:
      - ./src:/src:ro
      - type: volume
        source: data
        target: /data
    ports:
      - target: 9000
        published: 9090
      - "127.0.0.1:8080:3000"
    environment: [B=2, A=1]
    command: node server.js
    image: shop/web:1
networks: { back: {}, front: {} }
volumes: { data: {} }
name: shop
`;

describe('config hash', () => {
  it('is stable across key order, comments, formatting, list forms and list order', async () => {
    expect((await webHash(EQUIVALENT)).configHash).toBe((await webHash(ORIGINAL)).configHash);
  });

  it('ignores depends_on (it orders start-up, it does not change the container)', async () => {
    expect((await webHash(ORIGINAL.replace('depends_on: [db]', 'depends_on: []'))).configHash).toBe((await webHash(ORIGINAL)).configHash);
  });

  const changes: Array<[string, string, string]> = [
    ['image', 'shop/web:1', 'shop/web:2'],
    ['command', '["node", "server.js"]', '["node", "other.js"]'],
    ['environment', 'B: "2"', 'B: "3"'],
    ['ports', '"8080:3000"', '"8081:3000"'],
    ['mounts', '"./src:/src:ro"', '"./src:/src"'],
    ['networks', 'aliases: [www, web]', 'aliases: [www]'],
    ['healthcheck', 'interval: 2s', 'interval: 3s'],
  ];
  it.each(changes)('changes with %s, and names exactly that field', async (field, from, to) => {
    const before = await webHash(ORIGINAL);
    const after = await webHash(ORIGINAL.replace(from, to));
    expect(after.configHash).not.toBe(before.configHash);
    expect(changedFields(parseFieldHashes(formatFieldHashes(before.fields)), after.fields)).toEqual([field]);
  });

  it('never stores values in the field-hash label', async () => {
    const hash = await webHash(ORIGINAL.replace('A: "1"', 'A: "s3cr3t-token-value"'));
    expect(formatFieldHashes(hash.fields)).not.toContain('s3cr3t');
    expect(formatFieldHashes(hash.fields)).toMatch(/^(\w+=[0-9a-f]{16},)+\w+=[0-9a-f]{16}$/);
  });
});
