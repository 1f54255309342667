// A counter in Redis, with just enough of its protocol (RESP) for INCR: the service needs no npm
// dependencies, so its image builds without a registry. One short connection per call.
import { connect } from 'node:net';

const TIMEOUT_MS = 2000;

export function createCounter(url) {
  const { hostname, port } = new URL(url);
  return {
    increment(key) {
      return new Promise((resolve, reject) => {
        const socket = connect({ host: hostname, port: Number(port || 6379) });
        let reply = '';
        const fail = (error) => {
          socket.destroy();
          reject(error);
        };
        socket.setTimeout(TIMEOUT_MS, () => fail(new Error(`no answer from ${hostname}:${port} in ${TIMEOUT_MS} ms`)));
        socket.on('error', fail);
        socket.on('data', (chunk) => {
          reply += chunk.toString('utf8');
          if (!reply.endsWith('\r\n')) return;
          socket.end();
          // ":<integer>" on success, "-<message>" on an error.
          if (reply.startsWith(':')) resolve(Number(reply.slice(1, -2)));
          else fail(new Error(`redis: ${reply.slice(1, -2)}`));
        });
        socket.write(`*2\r\n$4\r\nINCR\r\n$${Buffer.byteLength(key)}\r\n${key}\r\n`);
      });
    },
  };
}
