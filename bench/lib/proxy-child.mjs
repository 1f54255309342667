#!/usr/bin/env node
/**
 * The processes of the proxy scenario, each in its own process so none shares another's event loop:
 *
 *   node proxy-child.mjs backends            three identical HTTP backends on 127.0.0.1 (kernel's ports)
 *   node proxy-child.mjs envctl P1 P2 P3 W1 W2 W3
 *                                             envctl's release proxy (dist/proxy/server.js) over them,
 *                                             weights canary/baseline/prod = W1/W2/W3
 *
 * Each prints one JSON line on stdout once listening (`{"ports":[…]}` or `{"port":…}`), then runs
 * until SIGTERM/SIGINT or until its stdin closes (so it never outlives the bench).
 */
import { createServer } from 'node:http';

/** The backends' answer: small, fixed, keep-alive (what a health or API endpoint returns). */
const BODY = Buffer.from('{"ok":true,"service":"bench-backend"}\n');

const [mode, ...args] = process.argv.slice(2);
const closers = [];
const exit = async () => {
  await Promise.allSettled(closers.map((close) => close()));
  process.exit(0);
};
process.on('SIGTERM', exit);
process.on('SIGINT', exit);
process.stdin.on('end', exit);
process.stdin.on('close', exit);
process.stdin.resume();

if (mode === 'backends') {
  const ports = [];
  for (let i = 0; i < 3; i += 1) {
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
        response.end(BODY);
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    ports.push(server.address().port);
    closers.push(() => new Promise((resolve) => server.close(resolve)));
  }
  process.stdout.write(`${JSON.stringify({ ports })}\n`);
} else if (mode === 'envctl') {
  const { startProxy } = await import('../../dist/proxy/server.js');
  const { createRouter } = await import('../../dist/proxy/routing.js');
  const [p1, p2, p3, w1, w2, w3] = args.map(Number);
  const weights = { canary: w1, baseline: w2, prod: w3 };
  let records = 0;
  const proxy = await startProxy({
    upstreams: { canary: { host: '127.0.0.1', port: p1 }, baseline: { host: '127.0.0.1', port: p2 }, prod: { host: '127.0.0.1', port: p3 } },
    router: createRouter(weights, { sticky: 'none' }),
    host: '127.0.0.1',
    port: 0,
    // A release writes each record to requests.jsonl; here they are only counted.
    record: () => {
      records += 1;
    },
    onError: (error) => process.stderr.write(`proxy error: ${error.message}\n`),
  });
  closers.push(() => proxy.close());
  process.stdout.write(`${JSON.stringify({ port: proxy.port })}\n`);
} else {
  process.stderr.write(`usage: proxy-child.mjs backends | envctl P1 P2 P3 W1 W2 W3\n`);
  process.exit(2);
}
