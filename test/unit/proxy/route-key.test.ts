import { describe, expect, it } from 'vitest';
import { parseTargetOverride, routeKeyOf } from '../../../src/proxy/route-key.js';

describe('routeKeyOf', () => {
  it.each([
    ['GET', '/', 'GET /'],
    ['GET', '', 'GET /'],
    ['GET', '/?page=2', 'GET /'],
    ['GET', '/api/items/42', 'GET /api/items/:id'],
    ['GET', '/api/items/7?expand=true#top', 'GET /api/items/:id'],
    ['GET', '/search#results', 'GET /search'],
    ['DELETE', '/api/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/orders/12', 'DELETE /api/users/:id/orders/:id'],
    ['GET', '/api/users/3F2504E0-4F89-11D3-9A0C-0305E82C3301', 'GET /api/users/:id'],
    ['GET', '/blobs/507f1f77bcf86cd799439011', 'GET /blobs/:id'], // 24-hex object id
    ['GET', '/commits/da39a3ee5e6b4b0d3255bfef95601890afd80709', 'GET /commits/:id'],
    ['GET', '/feed/cafe/deadbeef', 'GET /feed/cafe/deadbeef'], // short hex words are route
    ['GET', '/v2/items', 'GET /v2/items'],
    ['GET', '/items/42abc', 'GET /items/42abc'],
    ['GET', '/items/-1', 'GET /items/-1'],
    ['GET', '/items/42/', 'GET /items/:id/'],
    ['POST', '/api/items', 'POST /api/items'],
  ])('%s %s → %s', (method, path, expected) => {
    expect(routeKeyOf(method, path)).toBe(expected);
  });

  it('puts different ids of one route in one stratum', () => {
    expect(routeKeyOf('GET', '/api/items/42')).toBe(routeKeyOf('GET', '/api/items/7'));
    expect(routeKeyOf('GET', '/api/items/42')).not.toBe(routeKeyOf('POST', '/api/items/42'));
  });
});

describe('parseTargetOverride', () => {
  it.each([
    { header: undefined, cookie: undefined, expected: undefined },
    { header: 'canary', cookie: undefined, expected: 'canary' },
    { header: ' Baseline ', cookie: undefined, expected: 'baseline' },
    { header: 'PROD', cookie: undefined, expected: 'prod' },
    { header: 'canary', cookie: 'envctl_target=prod', expected: 'canary' }, // header wins
    { header: undefined, cookie: 'envctl_target=prod', expected: 'prod' },
    { header: undefined, cookie: 'a=1; envctl_target= Canary ; b=2', expected: 'canary' },
    { header: undefined, cookie: 'envctl_target="baseline"', expected: 'baseline' },
    { header: undefined, cookie: 'envctl_target=prod; envctl_target=canary', expected: 'prod' }, // first wins
    { header: undefined, cookie: 'ENVCTL_TARGET=prod', expected: undefined }, // cookie names are case-sensitive
    { header: undefined, cookie: 'x_envctl_target=prod', expected: undefined },
    { header: undefined, cookie: 'envctl_target=', expected: undefined },
    { header: undefined, cookie: 'envctl_target', expected: undefined },
    { header: 'staging', cookie: undefined, expected: undefined },
    { header: '', cookie: undefined, expected: undefined },
    { header: 'canary, prod', cookie: undefined, expected: undefined }, // a repeated header, joined by Node
    { header: 'bogus', cookie: 'envctl_target=baseline', expected: 'baseline' }, // an invalid header is ignored
    { header: ['prod'], cookie: undefined, expected: 'prod' },
    { header: ['prod', 'canary'], cookie: undefined, expected: undefined },
    { header: undefined, cookie: 'envctl_target=__proto__', expected: undefined },
  ])('header $header, cookie $cookie → $expected', ({ header, cookie, expected }) => {
    expect(parseTargetOverride(header, cookie)).toBe(expected);
  });
});
