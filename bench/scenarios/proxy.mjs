/**
 * proxy: requests per second and p50/p99 latency through envctl's release proxy (startProxy +
 * createRouter from dist/proxy, weights canary/baseline/prod 10/10/80), through HAProxy and through
 * nginx (Debian packages, installed with apt-get when root and missing; same weights, keep-alive
 * upstreams, one worker/thread each since envctl's proxy is one event loop), and direct to one
 * backend (the physical limit). Three identical backends run in their own Node process; envctl's
 * proxy in another (bench/lib/proxy-child.mjs); autocannon (node_modules) in a third, 50
 * connections, keep-alive, for a few seconds per sample. Targets in turn per rep (interleaved).
 *
 * autocannon records latencies in whole milliseconds: p50/p99 are reported in µs (×1000) with that
 * resolution; its mean latency (a fraction of ms) is in the notes.
 *
 * Besides throughput, each proxy's CPU time per request (user + sys of its processes over a sample,
 * from /proc, divided by the requests served): throughput on a shared 2-core machine moves with
 * whatever else runs, the CPU a proxy spends per request much less, so it shows the proxies'
 * efficiency even in a noisy run.
 */
import { execa } from 'execa';
import { once } from 'node:events';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SampleBook } from '../lib/measure.mjs';
import { freeLoopbackPort } from '../lib/resources.mjs';

const CONNECTIONS = 50;
const WEIGHTS = { canary: 10, baseline: 10, prod: 80 };
const TOOLS = ['direct', 'envctl', 'haproxy', 'nginx'];

export const proxy = {
  name: 'proxy',
  summary: `envctl's release proxy vs HAProxy and nginx (weights ${WEIGHTS.canary}/${WEIGHTS.baseline}/${WEIGHTS.prod} over three identical local Node backends, keep-alive upstreams, 1 thread/worker each) and direct to a backend; autocannon, ${CONNECTIONS} connections, separate processes`,

  async run(ctx) {
    const quick = ctx.reps <= 3;
    const seconds = quick ? 2 : 5;
    const notes = [];
    const available = await ensurePackages(ctx, notes);
    const dir = await ctx.resources.tempDir('proxy');
    const children = [];
    const spawn = (file, args, options = {}) => {
      const child = execa(file, args, { cancelSignal: ctx.signal, reject: false, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', ...options });
      children.push(child);
      return child;
    };
    try {
      const childScript = join(ctx.repoDir, 'bench/lib/proxy-child.mjs');
      const backends = spawn(process.execPath, [childScript, 'backends']);
      const ports = (await firstJsonLine(backends)).ports;
      const envctl = spawn(process.execPath, [childScript, 'envctl', ...ports, WEIGHTS.canary, WEIGHTS.baseline, WEIGHTS.prod].map(String));
      const pids = { envctl: envctl.pid };
      const urls = { direct: `http://127.0.0.1:${ports[2]}/`, envctl: `http://127.0.0.1:${(await firstJsonLine(envctl)).port}/` };

      if (available.haproxy) {
        const port = await freeLoopbackPort();
        const file = join(dir, 'haproxy.cfg');
        await writeFile(file, haproxyConfig(port, ports));
        pids.haproxy = spawn(available.haproxy, ['-db', '-f', file]).pid;
        await waitListening(port, 'haproxy');
        urls.haproxy = `http://127.0.0.1:${port}/`;
      }
      if (available.nginx) {
        const port = await freeLoopbackPort();
        const file = join(dir, 'nginx.conf');
        await writeFile(file, nginxConfig(port, ports, dir));
        pids.nginx = spawn(available.nginx, ['-p', dir, '-e', join(dir, 'error.log'), '-c', file]).pid;
        await waitListening(port, 'nginx');
        urls.nginx = `http://127.0.0.1:${port}/`;
      }
      const versions = await Promise.all(
        Object.entries(available).filter(([, path]) => path).map(async ([tool, path]) => {
          const result = await execa(path, ['-v'], { reject: false, all: true, stdin: 'ignore' });
          return `${tool}: ${result.all.split('\n')[0].trim()}`;
        }),
      );
      notes.push(...versions);

      const book = new SampleBook();
      const means = {};
      const tools = TOOLS.filter((tool) => urls[tool]);
      for (let rep = 0; rep <= ctx.reps; rep += 1) {
        const warmup = rep === 0;
        ctx.progress(`proxy ${warmup ? 'warm-up' : `rep ${rep}/${ctx.reps}`}: ${tools.join(', ')} (${warmup ? 1 : seconds} s each)`);
        for (const tool of tools) {
          const cpuBefore = pids[tool] ? await cpuTicks(pids[tool]) : undefined;
          const result = await autocannon(ctx, urls[tool], warmup ? 1 : seconds);
          const cpuAfter = pids[tool] ? await cpuTicks(pids[tool]) : undefined;
          const excluded = result.errors + result.timeouts + result.non2xx > 0 ? `${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx` : undefined;
          book.add('rps', tool, Math.round(result.requests.average), { warmup, excluded });
          book.add('p50', tool, Math.round(result.latency.p50 * 1000), { warmup, excluded });
          book.add('p99', tool, Math.round(result.latency.p99 * 1000), { warmup, excluded });
          if (cpuBefore !== undefined && cpuAfter !== undefined && result.requests.total > 0) {
            book.add('cpu', tool, Math.round(((cpuAfter - cpuBefore) * (1e6 / CLOCK_TICKS_PER_S)) / result.requests.total), { warmup, excluded });
          }
          if (!warmup && !excluded) (means[tool] ??= []).push(result.latency.average);
        }
      }
      notes.push(`mean latency (autocannon, ms, per sample): ${Object.entries(means).map(([tool, values]) => `${tool} ${values.map((v) => v.toFixed(2)).join('/')}`).join('; ')}`);
      notes.push(`${seconds} s per sample (1 s warm-up); all on one machine: load generator, proxy and backends share its cores, so direct is the limit of this machine, not of the backends alone`);

      const side = (metric, tool) => (urls[tool] ? book.side(metric, tool) : null);
      const measurements = [
        { name: 'requests/s vs HAProxy', what: `${CONNECTIONS} connections, keep-alive`, unit: 'req/s', better: 'higher', envctl: side('rps', 'envctl'), peer: side('rps', 'haproxy') },
        { name: 'requests/s vs nginx', what: `${CONNECTIONS} connections, keep-alive`, unit: 'req/s', better: 'higher', envctl: side('rps', 'envctl'), peer: side('rps', 'nginx') },
        { name: 'requests/s vs direct', what: 'direct: autocannon straight to one backend (no proxy)', unit: 'req/s', better: 'higher', envctl: side('rps', 'envctl'), peer: side('rps', 'direct') },
        { name: 'proxy CPU per request vs HAProxy', what: 'user + sys CPU of the proxy process(es) over a sample / requests served', unit: 'µs', envctl: side('cpu', 'envctl'), peer: side('cpu', 'haproxy') },
        { name: 'proxy CPU per request vs nginx', what: 'user + sys CPU of the proxy process(es) over a sample / requests served', unit: 'µs', envctl: side('cpu', 'envctl'), peer: side('cpu', 'nginx') },
        { name: 'p50 latency vs direct', what: 'autocannon p50 (1 ms resolution)', unit: 'µs', envctl: side('p50', 'envctl'), peer: side('p50', 'direct') },
        { name: 'p50 latency vs HAProxy', what: 'autocannon p50 (1 ms resolution)', unit: 'µs', envctl: side('p50', 'envctl'), peer: side('p50', 'haproxy') },
        { name: 'p99 latency vs HAProxy', what: 'autocannon p99 (1 ms resolution)', unit: 'µs', envctl: side('p99', 'envctl'), peer: side('p99', 'haproxy') },
        { name: 'p50 latency vs nginx', what: 'autocannon p50 (1 ms resolution)', unit: 'µs', envctl: side('p50', 'envctl'), peer: side('p50', 'nginx') },
        { name: 'p99 latency vs nginx', what: 'autocannon p99 (1 ms resolution)', unit: 'µs', envctl: side('p99', 'envctl'), peer: side('p99', 'nginx') },
      ].filter((measurement) => measurement.peer);
      return { name: this.name, summary: this.summary, notes, measurements };
    } finally {
      for (const child of children.reverse()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await child.catch(() => undefined);
        clearTimeout(timer);
      }
    }
  },
};

/** Runs autocannon in its own process; resolves to its JSON result. */
async function autocannon(ctx, url, seconds) {
  const bin = join(ctx.repoDir, 'node_modules/autocannon/autocannon.js');
  const result = await execa(process.execPath, [bin, '-c', String(CONNECTIONS), '-d', String(seconds), '-j', url], { cancelSignal: ctx.signal, reject: false, stdin: 'ignore', timeout: (seconds + 30) * 1000 });
  if (result.failed) throw new Error(`autocannon ${url} failed: ${(result.stderr || result.message).split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(result.stdout);
}

async function firstJsonLine(child) {
  const lines = createInterface({ input: child.stdout });
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    for await (const line of lines) if (line.trim().startsWith('{')) return JSON.parse(line);
  } finally {
    clearTimeout(timer);
  }
  const result = await child;
  throw new Error(`${child.spawnargs.slice(1).join(' ')} exited before listening: ${result.stderr}`);
}

/** Resolves once 127.0.0.1:port accepts a TCP connection (10 s at most). */
async function waitListening(port, what) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const socket = connect({ host: '127.0.0.1', port });
    try {
      await once(socket, 'connect');
      socket.destroy();
      return;
    } catch {
      socket.destroy();
      if (Date.now() > deadline) throw new Error(`${what} is not listening on 127.0.0.1:${port} after 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const ARM_NAMES = ['canary', 'baseline', 'prod'];

/** Linux's USER_HZ: the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_S = 100;

/**
 * CPU time (user + sys, clock ticks) of a process and its direct children (nginx's worker is a
 * child of its master), from /proc; 0 for processes that are gone.
 */
async function cpuTicks(pid) {
  const stats = [];
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // Fields after the command name (which may hold spaces and parentheses): state ppid … utime stime.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [ppid, utime, stime] = [Number(fields[1]), Number(fields[11]), Number(fields[12])];
    if (Number(entry) === pid || ppid === pid) stats.push(utime + stime);
  }
  return stats.reduce((sum, ticks) => sum + ticks, 0);
}

function haproxyConfig(port, ports) {
  return `# Generated by bench/run.mjs (scenario proxy)
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend bench
  bind 127.0.0.1:${port}
  default_backend arms
backend arms
  balance roundrobin
${ports.map((p, i) => `  server ${ARM_NAMES[i]} 127.0.0.1:${p} weight ${WEIGHTS[ARM_NAMES[i]]}`).join('\n')}
`;
}

function nginxConfig(port, ports, dir) {
  return `# Generated by bench/run.mjs (scenario proxy)
daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'client_body')};
  proxy_temp_path ${join(dir, 'proxy_temp')};
  fastcgi_temp_path ${join(dir, 'fastcgi_temp')};
  uwsgi_temp_path ${join(dir, 'uwsgi_temp')};
  scgi_temp_path ${join(dir, 'scgi_temp')};
  keepalive_requests 100000;
  upstream arms {
${ports.map((p, i) => `    server 127.0.0.1:${p} weight=${WEIGHTS[ARM_NAMES[i]]};`).join('\n')}
    keepalive 64;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://arms;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/**
 * Paths of haproxy and nginx (null when missing and not installable). Installs Debian's packages
 * with apt-get when root and missing, then stops the services their postinst may have started
 * (only for packages installed here: the bench runs its own instances on free ports).
 */
async function ensurePackages(ctx, notes) {
  const find = async (binary) => {
    const result = await execa('sh', ['-c', `command -v ${binary} || ls /usr/sbin/${binary} 2>/dev/null`], { reject: false, stdin: 'ignore' });
    return result.stdout.trim().split('\n')[0] || null;
  };
  const found = { haproxy: await find('haproxy'), nginx: await find('nginx') };
  const missing = Object.keys(found).filter((name) => !found[name]);
  if (missing.length === 0) return found;
  if (process.getuid?.() !== 0) {
    notes.push(`${missing.join(' and ')} not measured: not installed and the bench is not root (apt-get install ${missing.join(' ')})`);
    return found;
  }
  ctx.log(`${missing.join(' and ')} missing: installing Debian's package(s) with apt-get (as root)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => execa('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { reject: false, all: true, env, stdin: 'ignore', cancelSignal: ctx.signal });
  let result = await install();
  if (result.failed) {
    await execa('apt-get', ['update'], { reject: false, stdin: 'ignore', cancelSignal: ctx.signal });
    result = await install();
  }
  for (const name of missing) {
    await execa('service', [name, 'stop'], { reject: false, stdin: 'ignore' });
    found[name] = await find(name);
    if (!found[name]) notes.push(`${name} not measured: apt-get install failed: ${(result.all ?? '').split('\n').slice(-3).join(' | ')}`);
    else notes.push(`${name} installed by the bench (apt-get); its system service stopped`);
  }
  return found;
}
