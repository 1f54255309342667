// Smoke tests for the integration stage of `envctl pipeline`, made by `envctl init --from-compose`:
// every service that publishes a port accepts connections on it, and the HTTP services (listed in
// ENVCTL_SMOKE_HTTP, comma-separated) answer GET / without a server error. envctl sets
// ENVCTL_HOST_<SERVICE> and ENVCTL_PORT_<SERVICE> for the fresh environment it started.
// Replace or extend these with your own tests (pipeline.integration.run in envctl.yaml).
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';

const published = Object.keys(process.env)
  .filter((key) => key.startsWith('ENVCTL_PORT_'))
  .map((key) => key.slice('ENVCTL_PORT_'.length));
const http = (process.env.ENVCTL_SMOKE_HTTP ?? '').split(',').map((name) => name.trim()).filter(Boolean);

test('envctl started the environment (ENVCTL_PROJECT is set)', () => {
  assert.ok(process.env.ENVCTL_PROJECT, 'run this through `envctl pipeline`');
});

for (const service of published) {
  test(`${service.toLowerCase()} accepts connections`, async () => {
    const host = process.env[`ENVCTL_HOST_${service}`];
    const port = Number(process.env[`ENVCTL_PORT_${service}`]);
    await new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => socket.end(resolve));
      socket.setTimeout(5000, () => socket.destroy(new Error(`no connection to ${host}:${port} in 5 s`)));
      socket.on('error', reject);
    });
  });
}

for (const name of http) {
  const key = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  test(`${name} answers HTTP without a server error`, async () => {
    const url = process.env[`ENVCTL_URL_${key}`];
    assert.ok(url, `ENVCTL_URL_${key} is not set: ${name} publishes no port`);
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await response.arrayBuffer();
    assert.ok(response.status < 500, `GET ${url} answered ${response.status}`);
  });
}
