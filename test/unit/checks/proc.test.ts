import { describe, expect, it } from 'vitest';
import { findMount, formatMode, isLoopback, mountMode, normaliseMountPath, parseEnviron, parseMountinfo, parseOctalMode, parseProcNetTcp } from '../../../src/checks/proc.js';

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const TCP6_HEADER = '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const tail = ' 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0';

describe('parseProcNetTcp', () => {
  it.each([
    ['IPv4 any address, LISTEN', `   0: 00000000:0BB8 00000000:0000 0A${tail}`, { family: 'ipv4', address: '0.0.0.0', port: 3000, state: '0A', listening: true }],
    ['IPv4 loopback (little-endian words)', `   1: 0100007F:0BBA 00000000:0000 0A${tail}`, { family: 'ipv4', address: '127.0.0.1', port: 3002, state: '0A', listening: true }],
    ['IPv4 established is not listening', `   2: 0200000A:0BB8 0100000A:D431 01${tail}`, { family: 'ipv4', address: '10.0.0.2', port: 3000, state: '01', listening: false }],
    ['IPv4 lowercase hex', `   3: 0100007f:1f90 00000000:0000 0a${tail}`, { family: 'ipv4', address: '127.0.0.1', port: 8080, state: '0A', listening: true }],
    ['IPv6 any address', `   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A${tail}`, { family: 'ipv6', address: '::', port: 8080, state: '0A', listening: true }],
    ['IPv6 loopback', `   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A${tail}`, { family: 'ipv6', address: '::1', port: 8081, state: '0A', listening: true }],
    ['IPv4-mapped IPv6 loopback', `   2: 0000000000000000FFFF00000100007F:1F92 00000000000000000000000000000000:0000 0A${tail}`, { family: 'ipv6', address: '::ffff:7f00:1', port: 8082, state: '0A', listening: true }],
    ['IPv6 link-local, TIME_WAIT', `   3: 000080FE000000000000000001000000:0050 000080FE000000000000000002000000:C350 06${tail}`, { family: 'ipv6', address: 'fe80::1', port: 80, state: '06', listening: false }],
  ])('%s', (_name, line, expected) => {
    expect(parseProcNetTcp(line)).toEqual([expected]);
  });

  it.each([
    ['the IPv4 header', TCP_HEADER],
    ['the IPv6 header', TCP6_HEADER],
    ['an empty line', ''],
    ['a line cut off before the state', '   0: 00000000:0BB8 00000000:00'],
    ['an address of the wrong length', `   0: 000000:0BB8 00000000:0000 0A${tail}`],
  ])('skips %s', (_name, line) => {
    expect(parseProcNetTcp(line)).toEqual([]);
  });

  it('reads tcp and tcp6 concatenated, as `cat /proc/net/tcp /proc/net/tcp6` prints them', () => {
    const text = [TCP_HEADER, `   0: 00000000:0BB8 00000000:0000 0A${tail}`, TCP6_HEADER, `   0: 00000000000000000000000000000000:0BB9 00000000000000000000000000000000:0000 0A${tail}`, ''].join('\n');
    expect(parseProcNetTcp(text).map((socket) => `${socket.address} ${socket.port}`)).toEqual(['0.0.0.0 3000', ':: 3001']);
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.0.0.11', true],
    ['::1', true],
    ['::ffff:7f00:1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['172.17.0.2', false],
  ])('%s → %s', (address, expected) => {
    expect(isLoopback(address)).toBe(expected);
  });
});

describe('parseMountinfo', () => {
  it.each([
    [
      'the proc(5) example: one optional field',
      '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
      { root: '/mnt1', mountPoint: '/mnt2', options: ['rw', 'noatime'], fsType: 'ext3', source: '/dev/root', superOptions: ['rw', 'errors=continue'] },
    ],
    [
      'no optional fields, a read-only bind',
      '89 72 254:0 /tmp/bindtest /certs ro,relatime - ext4 /dev/vda rw,discard',
      { root: '/tmp/bindtest', mountPoint: '/certs', options: ['ro', 'relatime'], fsType: 'ext4', source: '/dev/vda', superOptions: ['rw', 'discard'] },
    ],
    [
      'several optional fields',
      '408 289 0:150 / / rw,relatime shared:1 master:12 propagate_from:2 - overlay overlay rw,lowerdir=/l',
      { root: '/', mountPoint: '/', options: ['rw', 'relatime'], fsType: 'overlay', source: 'overlay', superOptions: ['rw', 'lowerdir=/l'] },
    ],
    [
      'octal escapes for space, tab, newline and backslash',
      '90 72 0:68 / /my\\040data\\011x\\012y\\134z rw - tmpfs tmp\\040fs rw',
      { root: '/', mountPoint: '/my data\tx\ny\\z', options: ['rw'], fsType: 'tmpfs', source: 'tmp fs', superOptions: ['rw'] },
    ],
  ])('%s', (_name, line, expected) => {
    expect(parseMountinfo(line)).toEqual([expected]);
  });

  it.each([
    ['an empty line', ''],
    ['a line without the separator', '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw'],
    ['a line cut off after the separator', '36 35 98:0 /mnt1 /mnt2 rw master:1 - ext3'],
  ])('skips %s', (_name, line) => {
    expect(parseMountinfo(line)).toEqual([]);
  });
});

describe('findMount and mountMode', () => {
  const mounts = parseMountinfo(
    [
      '1 0 0:1 / / rw - overlay overlay rw',
      '2 1 0:2 / /data rw,relatime - ext4 /dev/vda rw',
      '3 1 0:3 / /cache ro,nosuid - tmpfs tmpfs rw',
      '4 1 0:4 / /sys ro,nosuid - sysfs sysfs ro',
      '5 1 0:5 / /frozen rw - ext4 /dev/vdb ro',
      '6 1 0:6 / /data ro - tmpfs tmpfs rw',
    ].join('\n'),
  );

  it.each([
    ['the last mount on a path hides earlier ones', '/data', '6', 'ro'],
    ['a trailing slash is the same path', '/cache/', '3', 'ro'],
    ['dot segments are resolved', '/sys/../frozen', '5', 'ro'],
    ['the root', '/', '1', 'rw'],
  ] as const)('%s', (_name, path, sourceId, mode) => {
    const mount = findMount(mounts, path);
    expect(mount).toBe(mounts[Number(sourceId) - 1]);
    expect(mountMode(mount!)).toBe(mode);
  });

  it.each([['/datas'], ['/dat'], ['/data/sub'], ['/missing']])('%s is not a mount point', (path) => {
    expect(findMount(mounts, path)).toBeUndefined();
  });

  it.each([
    ['/data/', '/data'],
    ['//data//x/', '/data/x'],
    ['/', '/'],
    ['/a/./b/../c', '/a/c'],
  ])('normaliseMountPath(%s) → %s', (path, expected) => {
    expect(normaliseMountPath(path)).toBe(expected);
  });
});

describe('parseEnviron', () => {
  it.each([
    ['simple pairs', 'A=1\0B=two\0', { A: '1', B: 'two' }],
    ['a value with = and a newline', 'URL=postgres://u@h/db?x=1\0MULTI=line1\nline2\0', { URL: 'postgres://u@h/db?x=1', MULTI: 'line1\nline2' }],
    ['an empty value is set', 'EMPTY=\0', { EMPTY: '' }],
    ['the first of a repeated name wins', 'A=first\0A=second\0', { A: 'first' }],
    ['entries without a name are skipped', '=x\0junk\0B=1', { B: '1' }],
    ['nothing', '', {}],
  ])('%s', (_name, text, expected) => {
    expect(Object.fromEntries(parseEnviron(text))).toEqual(expected);
  });
});

describe('file modes', () => {
  it.each([
    ['644', 0o644],
    ['0644', 0o644],
    ['00644', 0o644],
    ['4755', 0o4755],
    ['04755', 0o4755],
    ['600\n', 0o600],
    ['7', 0o7],
    ['0', 0],
    ['888', undefined],
    ['rw-r--r--', undefined],
    ['', undefined],
    ['12345', undefined],
  ])('parseOctalMode(%j) → %s', (text, expected) => {
    expect(parseOctalMode(text)).toBe(expected);
  });

  it.each([
    ['644', '0644', true],
    ['0644', '644', true],
    ['640', '0644', false],
    ['4755', '755', false],
  ])('%s and %s are the same mode: %s', (a, b, same) => {
    expect(parseOctalMode(a) === parseOctalMode(b)).toBe(same);
  });

  it.each([
    [0o644, '0644'],
    [0o4755, '4755'],
    [0o7, '0007'],
  ])('formatMode(%s) → %s', (mode, expected) => {
    expect(formatMode(mode)).toBe(expected);
  });
});
