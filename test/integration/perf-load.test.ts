/**
 * Real load on loopback: an in-process HTTP server on 127.0.0.1 (an engine-chosen port), driven by
 * generateLoad for 1–2 s over at most 4 connections, judged by judgePerf. Assertions rest on
 * properties the servers guarantee (a response never arrives before its injected delay; every
 * 4th answer is a 500), never on how fast this machine happens to be.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { generateLoad, judgePerf, loadFiguresSchema, type LoadFigures } from '../../src/pipeline/perf.js';

const INJECTED_DELAY_MS = 60;

let server: Server | undefined;

afterEach(async () => {
  const running = server;
  server = undefined;
  if (!running) return;
  running.closeAllConnections();
  await new Promise<void>((resolve) => running.close(() => resolve()));
});

/** Starts this test's server on 127.0.0.1 and returns its URL. */
async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void | Promise<void>): Promise<string> {
  const started = createServer((request, response) => {
    void handler(request, response);
  });
  server = started;
  await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(started.address() as AddressInfo).port}/work`;
}

/** Waits at least `ms` by the monotonic clock (a timer alone may fire up to a millisecond early). */
async function waitAtLeast(ms: number): Promise<void> {
  const start = performance.now();
  for (let left = ms; left > 0; left = ms - (performance.now() - start)) await delay(Math.ceil(left));
}

function expectSane(figures: LoadFigures): void {
  expect(loadFiguresSchema.parse(JSON.parse(JSON.stringify(figures)))).toEqual(figures);
  expect(figures.requests).toBeGreaterThan(0);
  expect(figures.latencyMs.p50).toBeLessThanOrEqual(figures.latencyMs.p95);
  expect(figures.latencyMs.p95).toBeLessThanOrEqual(figures.latencyMs.p99);
  expect(figures.latencyMs.p99).toBeLessThanOrEqual(figures.latencyMs.max);
  expect(figures.durationMs).toBeGreaterThan(0);
}

describe('generateLoad against loopback', () => {
  it('measures a fast server: sane figures, no errors, thresholds pass', async () => {
    const url = await serve((_request, response) => {
      response.end('ok');
    });
    const progress: string[] = [];
    const figures = await generateLoad({ url, durationMs: 1500, connections: 4, signal: new AbortController().signal, onProgress: (line) => progress.push(line) });

    expectSane(figures);
    expect(figures.errors).toBe(0);
    expect(figures.errorRate).toBe(0);
    expect(figures.responses).toBe(figures.requests);
    expect(figures.rps).toBeGreaterThan(0);
    expect(progress[0]).toMatch(/^load: 1 s of 1\.5 s, \d+ requests, 0 errors$/);

    const verdict = judgePerf(figures, { errors: 0, rps: 1 }, undefined, 0.1);
    expect(verdict.results.map((result) => result.status)).toEqual(['passed', 'passed']);
    expect(verdict.status).toBe('passed');
  });

  it(`measures an injected ${INJECTED_DELAY_MS} ms delay, and a 20 ms p95 threshold fails`, async () => {
    const url = await serve(async (_request, response) => {
      await waitAtLeast(INJECTED_DELAY_MS);
      response.end('slow');
    });
    const figures = await generateLoad({ url, durationMs: 1000, connections: 4, signal: new AbortController().signal });

    expectSane(figures);
    expect(figures.errorRate).toBe(0);
    expect(figures.latencyMs.p50).toBeGreaterThanOrEqual(INJECTED_DELAY_MS);

    const verdict = judgePerf(figures, { p95: 20 }, undefined, 0.1);
    expect(verdict.status).toBe('failed');
    expect(verdict.results).toEqual([{ name: 'p95', status: 'failed', detail: `p95 ≤ 20 ms: ${figures.latencyMs.p95.toFixed(1)} ms` }]);
  });

  it('counts a 500 on every 4th request as errors, and a 1% error threshold fails', async () => {
    let served = 0;
    const url = await serve((_request, response) => {
      served += 1;
      response.statusCode = served % 4 === 0 ? 500 : 200;
      response.end();
    });
    const figures = await generateLoad({ url, durationMs: 1000, connections: 4, signal: new AbortController().signal });

    expectSane(figures);
    expect(figures.errorRate).toBeGreaterThanOrEqual(0.2);
    expect(figures.errorRate).toBeLessThanOrEqual(0.3);

    const verdict = judgePerf(figures, { errors: 0.01 }, undefined, 0.1);
    expect(verdict.status).toBe('failed');
    expect(verdict.results[0]).toMatchObject({ name: 'errors', status: 'failed' });
    expect(verdict.results[0]?.detail).toMatch(/^errors ≤ 1%: 2\d\.\d\d% \(\d+ of \d+ requests\)$/);
  });

  // A 60 s run: one that did not stop at the abort would reach the test's timeout first.
  it('stops early when the signal aborts mid-run, closes its connections and rejects with the reason', { timeout: 20_000 }, async () => {
    const controller = new AbortController();
    const reason = new Error('cancelled by SIGINT');
    let served = 0;
    const url = await serve((_request, response) => {
      served += 1;
      if (served === 50) controller.abort(reason);
      response.end('ok');
    });
    await expect(generateLoad({ url, durationMs: 60_000, connections: 2, signal: controller.signal })).rejects.toBe(reason);
    // A request written just before the connections closed may still be read by the server; after that, nothing.
    await delay(100);
    const after = served;
    await delay(300);
    expect(served).toBe(after);
  });

  it('sends nothing when the signal has already aborted', async () => {
    let served = 0;
    const url = await serve((_request, response) => {
      served += 1;
      response.end('ok');
    });
    const controller = new AbortController();
    controller.abort(new Error('cancelled before perf'));
    await expect(generateLoad({ url, durationMs: 1000, connections: 1, signal: controller.signal })).rejects.toThrow('cancelled before perf');
    expect(served).toBe(0);
  });

  it('counts refused connections as errors; with no responses, latency thresholds fail', async () => {
    // A port that was just ours and is now closed: connections to it are refused.
    const url = await serve((_request, response) => {
      response.end();
    });
    const closing = server!;
    server = undefined;
    await new Promise<void>((resolve) => closing.close(() => resolve()));

    const figures = await generateLoad({ url, durationMs: 1000, connections: 1, signal: new AbortController().signal });

    expect(figures.requests).toBeGreaterThan(0);
    expect(figures.responses).toBe(0);
    expect(figures.errorRate).toBe(1);
    expect(figures.latencyMs).toEqual({ p50: 0, p95: 0, p99: 0, mean: 0, max: 0 });
    expect(judgePerf(figures, { p95: 100 }, undefined, 0.1).results).toEqual([{ name: 'p95', status: 'failed', detail: 'p95 ≤ 100 ms: no responses to measure' }]);
  });
});
