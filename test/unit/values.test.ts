/**
 * The small string formats of a definition (src/definition/values.ts): durations, ports,
 * volumes, commands, KEY=VALUE lists, sizes and percentages.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_HOST_IP,
  parseByteSize,
  parseCommandWords,
  parseDurationMs,
  parseFraction,
  parseKeyValueList,
  parsePortNumber,
  parsePortShort,
  parseVolumeShort,
  ValueProblem,
  type PortBinding,
} from '../../src/definition/values.js';

/** The ValueProblem `run` throws (fails the test if it returns or throws something else). */
function problemFrom(run: () => unknown): ValueProblem {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ValueProblem);
  return thrown as ValueProblem;
}

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1h2m3s4ms', 3_723_004],
    ['1.5s', 1500],
    ['0s', 0],
    ['250us', 0.25],
  ])('%s → %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it.each(['5 minutes', '5', '', 's', '-1s', '1d', '1S', '1.s', '30 s', '1m 30s'])('refuses %j', (text) => {
    const problem = problemFrom(() => parseDurationMs(text));
    expect(problem.message).toBe(`invalid duration "${text}"`);
    expect(problem.hint).toContain('500ms, 30s, 1m30s, 2h');
  });
});

describe('parsePortNumber', () => {
  it.each([
    ['80', 80],
    [80, 80],
    [1, 1],
    [65535, 65535],
    ['65535', 65535],
  ] as const)('%j → %d', (input, port) => {
    expect(parsePortNumber(input, 'port')).toBe(port);
  });

  it.each([0, 65536, -1, 1.5, '', 'abc', '1e3', ' 80', '-1'])('refuses %j', (input) => {
    const problem = problemFrom(() => parsePortNumber(input, 'host port'));
    expect(problem.message).toBe(`invalid host port "${input}"`);
    expect(problem.hint).toBe('ports are whole numbers from 1 to 65535');
  });
});

describe('parsePortShort', () => {
  const bind = (target: number, published: number | undefined, hostIp = DEFAULT_HOST_IP, protocol: 'tcp' | 'udp' = 'tcp'): PortBinding => ({
    target,
    published,
    hostIp,
    protocol,
  });

  it('binds to 127.0.0.1 unless a host address is given', () => {
    expect(DEFAULT_HOST_IP).toBe('127.0.0.1');
  });

  it.each<{ text: string | number; bindings: PortBinding[] }>([
    { text: '3000', bindings: [bind(3000, undefined)] },
    { text: 3000, bindings: [bind(3000, undefined)] },
    { text: '8080:3000', bindings: [bind(3000, 8080)] },
    { text: '127.0.0.1:8080:3000', bindings: [bind(3000, 8080, '127.0.0.1')] },
    { text: '0.0.0.0:80:80', bindings: [bind(80, 80, '0.0.0.0')] },
    { text: '127.0.0.1::3000', bindings: [bind(3000, undefined, '127.0.0.1')] },
    { text: '[::1]:8080:80', bindings: [bind(80, 8080, '::1')] },
    { text: '[::]:80:80', bindings: [bind(80, 80, '::')] },
    { text: '[::1]::80', bindings: [bind(80, undefined, '::1')] },
    { text: '53:53/udp', bindings: [bind(53, 53, DEFAULT_HOST_IP, 'udp')] },
    { text: '80/tcp', bindings: [bind(80, undefined)] },
    { text: '127.0.0.1:8080:3000/udp', bindings: [bind(3000, 8080, '127.0.0.1', 'udp')] },
    { text: '[::1]:5353:53/udp', bindings: [bind(53, 5353, '::1', 'udp')] },
    { text: '3000-3002', bindings: [bind(3000, undefined), bind(3001, undefined), bind(3002, undefined)] },
    { text: '9090-9091:8080-8081', bindings: [bind(8080, 9090), bind(8081, 9091)] },
    { text: '127.0.0.1:9090-9091:8080-8081/udp', bindings: [bind(8080, 9090, '127.0.0.1', 'udp'), bind(8081, 9091, '127.0.0.1', 'udp')] },
    { text: ' 8080:80 ', bindings: [bind(80, 8080)] },
  ])('$text', ({ text, bindings }) => {
    expect(parsePortShort(text)).toEqual(bindings);
  });

  it.each([
    { text: 'abc', message: 'invalid container port "abc"' },
    { text: '-1', message: 'invalid container port "-1"' },
    { text: '0', message: 'invalid container port "0"' },
    { text: '70000', message: 'invalid container port "70000"' },
    { text: '70000:80', message: 'invalid host port "70000"' },
    { text: '8080:', message: 'invalid container port ""' },
    { text: '1.5', message: 'invalid container port "1.5"' },
    { text: '8080:3000/sctp', message: 'invalid protocol "sctp" in port "8080:3000/sctp"' },
    { text: '1:2:3:4', message: 'invalid port "1:2:3:4"' },
    { text: '[::1]:80', message: 'invalid port "[::1]:80"' },
    { text: '[::1]:1:2:3', message: 'invalid port "[::1]:1:2:3"' },
    { text: '8080-8082:3000', message: 'port ranges differ in length in "8080-8082:3000"' },
    { text: '8080:3000-3002', message: 'one host port for a range of container ports in "8080:3000-3002"' },
    { text: '8000-8001:3000-3002', message: 'port ranges differ in length in "8000-8001:3000-3002"' },
    { text: '1-2000', message: 'invalid container port range "1-2000"' },
    { text: '5000-4000:80', message: 'invalid host port range "5000-4000"' },
  ])('refuses $text', ({ text, message }) => {
    const problem = problemFrom(() => parsePortShort(text));
    expect(problem.message).toContain(message);
    expect(problem.hint).toBeTruthy();
  });
});

describe('parseVolumeShort', () => {
  it.each([
    { text: '/data', mount: { type: 'volume', source: undefined, target: '/data', readOnly: false } },
    { text: 'dbdata:/var/lib/postgresql/data', mount: { type: 'volume', source: 'dbdata', target: '/var/lib/postgresql/data', readOnly: false } },
    { text: 'cache:/cache:ro', mount: { type: 'volume', source: 'cache', target: '/cache', readOnly: true } },
    { text: 'cache:/cache:nocopy', mount: { type: 'volume', source: 'cache', target: '/cache', readOnly: false } },
    { text: './src:/app:ro', mount: { type: 'bind', source: './src', target: '/app', readOnly: true } },
    { text: '../shared:/shared', mount: { type: 'bind', source: '../shared', target: '/shared', readOnly: false } },
    { text: '~/x:/y:rw', mount: { type: 'bind', source: '~/x', target: '/y', readOnly: false } },
    { text: '/host/path:/c', mount: { type: 'bind', source: '/host/path', target: '/c', readOnly: false } },
    { text: './src:/app:ro,z', mount: { type: 'bind', source: './src', target: '/app', readOnly: true } },
  ])('$text', ({ text, mount }) => {
    expect(parseVolumeShort(text)).toEqual(mount);
  });

  it.each([
    { text: 'data', message: 'the container path in volume "data" must be absolute' },
    { text: 'name:relative', message: 'the container path in volume "name:relative" must be absolute' },
    { text: 'a:/b:bogus', message: 'invalid volume mode "bogus" in "a:/b:bogus"' },
    { text: 'a:/b:ro:extra', message: 'invalid volume "a:/b:ro:extra"' },
    { text: ':/b', message: 'invalid volume ":/b"' },
    { text: 'a:', message: 'invalid volume "a:"' },
    { text: '', message: 'invalid volume ""' },
  ])('refuses $text', ({ text, message }) => {
    const problem = problemFrom(() => parseVolumeShort(text));
    expect(problem.message).toBe(message);
    expect(problem.hint).toBeTruthy();
  });
});

describe('parseCommandWords', () => {
  it.each([
    { text: 'node server.js', words: ['node', 'server.js'] },
    { text: '  node   server.js  ', words: ['node', 'server.js'] },
    { text: 'echo "hello world"', words: ['echo', 'hello world'] },
    { text: "echo 'a b' c", words: ['echo', 'a b', 'c'] },
    { text: 'a\\ b', words: ['a b'] },
    { text: 'sh -c "a && b"', words: ['sh', '-c', 'a && b'] },
    { text: "sh -c 'a; rm -rf x'", words: ['sh', '-c', 'a; rm -rf x'] },
    { text: 'echo "$(x)"', words: ['echo', '$(x)'] },
    { text: "echo '$(x)'", words: ['echo', '$(x)'] },
    // Backticks are not special: kept as literal text in the words.
    { text: 'echo `touch /tmp/pwned`', words: ['echo', '`touch', '/tmp/pwned`'] },
    // Leading dashes are plain arguments.
    { text: '--rm -rf /', words: ['--rm', '-rf', '/'] },
    // Variables are not expanded (interpolation already happened); the text is kept.
    { text: 'echo $HOME', words: ['echo', '$HOME'] },
    { text: 'echo ${HOME}suffix', words: ['echo', '${HOME}suffix'] },
  ])('$text → $words', ({ text, words }) => {
    expect(parseCommandWords(text)).toEqual(words);
  });

  it.each([
    { text: 'a && b', what: 'the shell operator "&&"' },
    { text: 'a || b', what: 'the shell operator "||"' },
    { text: 'a; rm -rf x', what: 'the shell operator ";"' },
    { text: 'a | b', what: 'the shell operator "|"' },
    { text: 'a & b', what: 'the shell operator "&"' },
    { text: 'a > out', what: 'the shell operator ">"' },
    { text: '$(touch /tmp/pwned)', what: 'the shell operator "("' },
    { text: 'ls *.js', what: 'the shell operator "glob"' },
    { text: 'echo hi # comment', what: 'a comment' },
  ])('refuses $text ($what)', ({ text, what }) => {
    const problem = problemFrom(() => parseCommandWords(text));
    expect(problem.message).toBe(`the command "${text}" contains ${what}; commands are not run through a shell`);
    expect(problem.hint).toContain('["sh", "-c", "a && b"]');
  });

  it.each(['', '   '])('refuses the empty command %j', (text) => {
    const problem = problemFrom(() => parseCommandWords(text));
    expect(problem.message).toBe('the command is empty');
  });

  it('refuses an unterminated quote instead of guessing where it ends', () => {
    const problem = problemFrom(() => parseCommandWords('echo "unterminated'));
    expect(problem.message).toContain('echo "unterminated');
  });

  describe('never runs anything', () => {
    let dir: string;

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'envctl-values-'));
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('parses or refuses injection strings without creating the marker file', () => {
      const marker = join(dir, 'pwned');
      const attempts = [`$(touch ${marker})`, `echo \`touch ${marker}\``, `a; touch ${marker}`, `a && touch ${marker}`, `echo "$(touch ${marker})"`];
      const outcomes = attempts.map((text) => {
        try {
          return parseCommandWords(text);
        } catch (error) {
          return error instanceof ValueProblem ? 'refused' : error;
        }
      });
      expect(outcomes).toEqual(['refused', ['echo', '`touch', `${marker}\``], 'refused', 'refused', ['echo', `$(touch ${marker})`]]);
      expect(existsSync(marker)).toBe(false);
    });
  });
});

describe('parseKeyValueList', () => {
  it.each<{ items: string[]; map: Record<string, string | null> }>([
    { items: ['A=1', 'B=two=2', 'C', 'D='], map: { A: '1', B: 'two=2', C: null, D: '' } },
    { items: [], map: {} },
    { items: ['URL=http://x/?a=b&c=d'], map: { URL: 'http://x/?a=b&c=d' } },
    { items: ['constructor=1', 'toString=2'], map: { constructor: '1', toString: '2' } },
  ])('$items', ({ items, map }) => {
    const result = parseKeyValueList(items, 'environment variable');
    expect(result).toEqual(map);
    for (const key of Object.keys(map)) expect(Object.hasOwn(result, key)).toBe(true);
  });

  it.each([
    { items: ['A=1', 'A=2'], message: 'environment variable "A" is set twice', hint: 'keep one of them' },
    { items: ['A', 'A=2'], message: 'environment variable "A" is set twice', hint: 'keep one of them' },
    { items: ['=x'], message: 'invalid environment variable entry "=x"', hint: 'write KEY=VALUE' },
    { items: ['BAD KEY=1'], message: 'invalid environment variable entry "BAD KEY=1"', hint: 'write KEY=VALUE' },
    { items: [''], message: 'invalid environment variable entry ""', hint: 'write KEY=VALUE' },
  ])('refuses $items', ({ items, message, hint }) => {
    const problem = problemFrom(() => parseKeyValueList(items, 'environment variable'));
    expect(problem.message).toBe(message);
    expect(problem.hint).toBe(hint);
  });

  it('never touches Object.prototype through a `__proto__=` entry', () => {
    let result: Record<string, string | null> | undefined;
    try {
      result = parseKeyValueList(['__proto__=polluted', 'A=1'], 'environment variable');
    } catch (error) {
      expect(error).toBeInstanceOf(ValueProblem);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (result) expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });

  it('keeps a `__proto__=` entry as data or refuses it, never drops it silently', () => {
    let result: Record<string, string | null> | undefined;
    try {
      result = parseKeyValueList(['__proto__=x'], 'environment variable');
    } catch (error) {
      expect(error).toBeInstanceOf(ValueProblem);
      return;
    }
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(result, '__proto__')?.value).toBe('x');
  });
});

describe('parseByteSize', () => {
  it.each([
    [0, 0],
    [1024, 1024],
    ['100', 100],
    ['10b', 10],
    ['512k', 512 * 1024],
    ['512K', 512 * 1024],
    ['10kb', 10 * 1024],
    ['64m', 64 * 1024 ** 2],
    ['10mb', 10 * 1024 ** 2],
    ['1g', 1024 ** 3],
  ] as const)('%j → %d bytes', (input, bytes) => {
    expect(parseByteSize(input)).toBe(bytes);
  });

  it.each(['1.5g', '-1', -1, 1.5, 'lots', '', '10t', 'm'])('refuses %j', (input) => {
    const problem = problemFrom(() => parseByteSize(input));
    expect(problem.message).toBe(`invalid size "${input}"`);
    expect(problem.hint).toContain('64m');
  });
});

describe('parseFraction', () => {
  it.each([
    ['1%', 0.01],
    ['0.5%', 0.005],
    ['100%', 1],
    ['0%', 0],
    [0.01, 0.01],
    [0, 0],
    [1, 1],
  ] as const)('%j → %d', (input, fraction) => {
    expect(parseFraction(input)).toBeCloseTo(fraction, 12);
  });

  it.each(['101%', 1.5, -0.1, 'abc', '%', '50', '-1%', Number.NaN, Number.POSITIVE_INFINITY])('refuses %j', (input) => {
    const problem = problemFrom(() => parseFraction(input));
    expect(problem.message).toBe(`invalid percentage "${input}"`);
    expect(problem.hint).toContain('1%');
  });
});
