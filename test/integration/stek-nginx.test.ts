// Real nginx: two instances on loopback, each with the key files `certloop stek export
// --format nginx` wrote from consecutive ring versions (A lags one version behind and
// still encrypts with the old key; B already encrypts with the new one). openssl
// s_client saves a session from one and offers it to the other: "Reused" both ways,
// because each holds the other's encrypting key as a decrypt-only key.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerStekCommand } from '../../cli/stek-command.js';
import { DirectoryStekStore } from '../../src/adapters/local/directory-stek-store.js';
import {
  DEFAULT_STEK_POLICY,
  EMPTY_RING,
  rotateRing,
  type StekRing,
} from '../../src/core/stek-ring.js';

const run = promisify(execFile);
const INSTALL =
  'bash scripts/ensure-test-servers.sh (or: apt-get update && apt-get install -y nginx openssl)';
const P = DEFAULT_STEK_POLICY.periodMs;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const random = (n: number) => new Uint8Array(randomBytes(n));

let dir: string;
const children: ChildProcess[] = [];

async function nginxBinary(): Promise<string> {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    try {
      await access(candidate);
      return candidate;
    } catch {}
  }
  // Install through the project script, as `npm test` does.
  await run('bash', ['scripts/ensure-test-servers.sh']).catch(() => undefined);
  try {
    await access('/usr/sbin/nginx');
    return '/usr/sbin/nginx';
  } catch {
    throw new Error(`nginx is not installed; install it with: ${INSTALL}`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, log: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`nginx exited: ${await readFile(log, 'utf8').catch(() => '')}`);
    }
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function exportWithCli(stateDir: string, out: string, at: number): Promise<string[]> {
  const printed: string[] = [];
  const program = new Command().exitOverride();
  registerStekCommand(program, { stdout: (text) => printed.push(text) });
  await program.parseAsync(
    [
      'stek',
      'export',
      '--set',
      'web',
      '--format',
      'nginx',
      '--out',
      out,
      '--state-dir',
      stateDir,
      '--at',
      new Date(at).toISOString(),
    ],
    { from: 'user' },
  );
  return printed;
}

async function startNginx(name: string, ring: StekRing, at: number): Promise<number> {
  const nginx = await nginxBinary();
  const prefix = join(dir, name);
  const state = join(prefix, 'state');
  await mkdir(join(prefix, 'logs'), { recursive: true });
  await new DirectoryStekStore({ root: join(state, 'secrets') }).write(
    'web',
    ring,
    `g${ring.generation}`,
  );
  const printed = await exportWithCli(state, join(prefix, 'keys'), at);
  expect(printed.join('')).toContain(join(prefix, 'keys', 'ssl_session_ticket_keys.conf'));
  const port = await freePort();
  const config = join(prefix, 'nginx.conf');
  await writeFile(
    config,
    `worker_processes 1;
error_log ${prefix}/logs/error.log;
pid ${prefix}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp-body;
  proxy_temp_path ${prefix}/tmp-proxy;
  fastcgi_temp_path ${prefix}/tmp-fastcgi;
  uwsgi_temp_path ${prefix}/tmp-uwsgi;
  scgi_temp_path ${prefix}/tmp-scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets on;
    include ${prefix}/keys/ssl_session_ticket_keys.conf;
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  const child = spawn(nginx, ['-p', prefix, '-c', config, '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  children.push(child);
  await waitForPort(port, child, join(prefix, 'logs', 'error.log'));
  return port;
}

async function sClient(port: number, protocol: string, sessionArgs: string[]): Promise<string> {
  const child = spawn('openssl', [
    's_client',
    '-ign_eof',
    '-connect',
    `127.0.0.1:${port}`,
    '-servername',
    'localhost',
    protocol,
    ...sessionArgs,
  ]);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', () => undefined);
  // A request, so that the TLS 1.3 NewSessionTicket arrives before the connection ends.
  child.stdin.end('GET / HTTP/1.0\r\nHost: localhost\r\n\r\n');
  await new Promise((resolve) => child.on('close', resolve));
  // Only the session line matters; the rest can hold the session's master key.
  return output
    .split('\n')
    .filter((line) => /^(New|Reused),/.test(line))
    .join('\n');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-stek-nginx-'));
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
  ]).catch((error: unknown) => {
    throw new Error(`openssl is missing or failed; install with: ${INSTALL} (${String(error)})`);
  });
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null) {
      const closed = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await closed;
    }
  }
  await rm(dir, { recursive: true, force: true });
});

describe('nginx with exported ssl_session_ticket_key files', () => {
  let a: number;
  let b: number;

  beforeAll(async () => {
    const v1 = rotateRing(EMPTY_RING, T0, DEFAULT_STEK_POLICY, random).ring;
    const v2 = rotateRing(v1, T0 + P, DEFAULT_STEK_POLICY, random).ring;
    // A still has ring v1 and exported just before the switch: it encrypts with key 1
    // and holds key 2 decrypt-only. B has v2 after the switch: it encrypts with key 2
    // and holds key 1 (previous) and key 3 (next) decrypt-only.
    a = await startNginx('a', v1, T0 + P - 60_000);
    b = await startNginx('b', v2, T0 + P);
  });

  it.each([
    ['-tls1_2', 'TLS 1.2'],
    ['-tls1_3', 'TLS 1.3'],
  ])('resumes sessions across the two instances in both directions (%s, %s)', async (flag) => {
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      const session = join(dir, `session-${from}-${to}${flag}`);
      expect(await sClient(from, flag, ['-sess_out', session])).toMatch(/^New,/);
      expect(await sClient(to, flag, ['-sess_in', session])).toMatch(/^Reused,/);
    }
  });

  it('does not resume on an instance that holds none of the keys', async () => {
    const other = rotateRing(EMPTY_RING, T0, DEFAULT_STEK_POLICY, random).ring;
    const c = await startNginx('c', other, T0);
    const session = join(dir, 'session-a-c');
    await sClient(a, '-tls1_2', ['-sess_out', session]);
    expect(await sClient(c, '-tls1_2', ['-sess_in', session])).toMatch(/^New,/);
  });
});
