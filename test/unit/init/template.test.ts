import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderTemplateTree, renderText } from '../../../src/init/template.js';

describe('renderText', () => {
  it.each([
    ['name: {{envctl.name}}', { name: 'shop' }, 'name: shop'],
    ['{{envctl.name}}-web {{envctl.name}}', { name: 'a' }, 'a-web a'],
    ['npm i envctl@{{envctl.version}}', { version: '1.2.3' }, 'npm i envctl@1.2.3'],
    // Not envctl's: GitHub expressions and other curly syntax stay as they are.
    ['ref: ${{ github.sha }} ${{github.ref}} {{name}} {{ envctl.name }}', { name: 'x' }, 'ref: ${{ github.sha }} ${{github.ref}} {{name}} {{ envctl.name }}'],
    ['no placeholders', {}, 'no placeholders'],
  ])('%s', (text, values, expected) => {
    expect(renderText(text, values, 'test')).toBe(expected);
  });

  it('refuses a placeholder without a value, naming it and the file', () => {
    expect(() => renderText('x {{envctl.port}}', { name: 'a' }, 'templates/x.yaml')).toThrow(/templates\/x\.yaml: no value for \{\{envctl\.port\}\}/);
  });

  it('does not treat inherited object keys as values', () => {
    expect(() => renderText('{{envctl.constructor}}', {}, 't')).toThrow(/no value/);
  });
});

describe('renderTemplateTree', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'envctl-template-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('copies every file with its text rendered, dotfiles and nested folders included, sorted', async () => {
    await mkdir(join(dir, '.github/workflows'), { recursive: true });
    await mkdir(join(dir, 'services/web'), { recursive: true });
    await writeFile(join(dir, '.github/workflows/ci.yml'), 'name: {{envctl.name}}\nref: ${{ github.sha }}\n');
    await writeFile(join(dir, 'services/web/run.sh'), '#!/bin/sh\necho {{envctl.name}}\n');
    await chmod(join(dir, 'services/web/run.sh'), 0o755);
    await writeFile(join(dir, 'gitignore'), '.envctl/\n');
    await writeFile(join(dir, 'blob.bin'), Buffer.from([0, 1, 2, 0x7b, 0x7b]));

    const files = await renderTemplateTree(dir, { name: 'shop' });

    expect(files.map((file) => [file.path, file.mode.toString(8)])).toEqual([
      ['.github/workflows/ci.yml', '644'],
      ['.gitignore', '644'],
      ['blob.bin', '644'],
      ['services/web/run.sh', '755'],
    ]);
    const text = (path: string) => files.find((file) => file.path === path)!.content.toString('utf8');
    expect(text('.github/workflows/ci.yml')).toBe('name: shop\nref: ${{ github.sha }}\n');
    expect(text('services/web/run.sh')).toBe('#!/bin/sh\necho shop\n');
    expect(files.find((file) => file.path === 'blob.bin')!.content).toEqual(Buffer.from([0, 1, 2, 0x7b, 0x7b]));
  });

  it('fails on a template placeholder nobody provides', async () => {
    await writeFile(join(dir, 'envctl.yaml'), 'name: {{envctl.nmae}}\n');
    await expect(renderTemplateTree(dir, { name: 'shop' })).rejects.toThrow(/templates\/envctl\.yaml: no value for \{\{envctl\.nmae\}\}/);
  });
});
