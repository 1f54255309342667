import { describe, expect, it } from 'vitest';
import { checkContextFor } from '../../../src/checks/context.js';
import { formatHostPort, reachableHost } from '../../../src/checks/probes.js';
import type { Engine } from '../../../src/engine/engine.js';
import type { ObservedContainer } from '../../../src/engine/types.js';

function container(service: string, state: ObservedContainer['state'], ports: ObservedContainer['ports'], id = `${service}-${state}`): ObservedContainer {
  return { id, name: `p-${service}-1`, service, state, health: undefined, image: 'img', labels: {}, created: 0, ports };
}

const containers = [
  container('web', 'exited', [{ hostIp: '127.0.0.1', published: 1111, target: 80, protocol: 'tcp' }], 'old-web'),
  container('web', 'running', [
    { hostIp: '::', published: 4001, target: 9000, protocol: 'tcp' },
    { hostIp: '0.0.0.0', published: 4000, target: 9000, protocol: 'tcp' },
    { hostIp: '127.0.0.1', published: 5000, target: 3000, protocol: 'tcp' },
    { hostIp: '127.0.0.1', published: 6000, target: 53, protocol: 'udp' },
  ]),
  container('db', 'running', []),
];

describe('checkContextFor', () => {
  const ctx = checkContextFor({ engine: {} as Engine, containers, now: Date.now, sleep: async () => undefined, signal: new AbortController().signal });

  it.each([
    ['web', 'web-running'],
    ['db', 'db-running'],
    ['worker', undefined],
  ])('containerOf(%s) is the running container: %s', (service, id) => {
    expect(ctx.containerOf(service)).toBe(id);
  });

  it.each([
    ['a given container port', 'web', 3000, { host: '127.0.0.1', port: 5000 }],
    ['IPv4 before IPv6 for the same port', 'web', 9000, { host: '0.0.0.0', port: 4000 }],
    ['no port given: the lowest TCP port', 'web', undefined, { host: '127.0.0.1', port: 5000 }],
    ['a UDP port is not a published TCP address', 'web', 53, undefined],
    ['an unpublished port', 'web', 8080, undefined],
    ['a service that publishes nothing', 'db', undefined, undefined],
    ['a service without a running container', 'worker', 80, undefined],
  ])('publishedAddress: %s', (_name, service, port, expected) => {
    expect(ctx.publishedAddress(service, port)).toEqual(expected);
  });

  it('no port given: the first declared port when the definition order is known', () => {
    const declared = checkContextFor({ engine: {} as Engine, containers, declaredPorts: { web: [9000, 3000] }, now: Date.now, sleep: async () => undefined, signal: new AbortController().signal });
    expect(declared.publishedAddress('web')).toEqual({ host: '0.0.0.0', port: 4000 });
  });
});

describe('reachableHost and formatHostPort', () => {
  it.each([
    ['0.0.0.0', '127.0.0.1', '127.0.0.1:80'],
    ['', '127.0.0.1', '127.0.0.1:80'],
    ['::', '::1', '[::1]:80'],
    ['192.168.1.5', '192.168.1.5', '192.168.1.5:80'],
    ['fd00::5', 'fd00::5', '[fd00::5]:80'],
  ])('%j is reached on %s (%s)', (published, host, shown) => {
    expect(reachableHost(published)).toBe(host);
    expect(formatHostPort(reachableHost(published), 80)).toBe(shown);
  });
});
