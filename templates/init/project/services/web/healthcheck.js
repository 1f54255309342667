// Container healthcheck: exit 0 when GET /healthz answers 200 within 2 s, 1 otherwise.
import { request } from 'node:http';

const port = Number(process.env.PORT || 3000);
const req = request({ host: '127.0.0.1', port, path: '/healthz', timeout: 2000 }, (response) => {
  response.resume();
  process.exit(response.statusCode === 200 ? 0 : 1);
});
req.on('timeout', () => req.destroy(new Error('timeout')));
req.on('error', () => process.exit(1));
req.end();
