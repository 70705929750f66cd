// Real nginx: two instances on loopback, each with the key files `certloop stek export
// --format nginx` wrote from consecutive ring versions (A lags one version behind and
// still encrypts with the old key; B already encrypts with the new one). openssl
// s_client saves a session from one and offers it to the other: "Reused" both ways,
// because each holds the other's encrypting key as a decrypt-only key.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryStekStore } from '../../src/adapters/local/directory-stek-store.js';
import {
  DEFAULT_STEK_POLICY,
  EMPTY_RING,
  rotateRing,
  type StekRing,
} from '../../src/core/stek-ring.js';
import {
  exportStekWithCli,
  findServerBinary,
  freeLoopbackPort,
  makeLocalhostCertificate,
  sessionLine,
  waitForPort,
} from '../support/tls-peers.js';

const INSTALL =
  'bash scripts/ensure-test-servers.sh (or: apt-get update && apt-get install -y nginx openssl)';
const P = DEFAULT_STEK_POLICY.periodMs;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const random = (n: number) => new Uint8Array(randomBytes(n));

let dir: string;
const children: ChildProcess[] = [];

async function startNginx(name: string, ring: StekRing, at: number): Promise<number> {
  const nginx = await findServerBinary('nginx', INSTALL);
  const prefix = join(dir, name);
  const state = join(prefix, 'state');
  await mkdir(join(prefix, 'logs'), { recursive: true });
  await new DirectoryStekStore({ root: join(state, 'secrets') }).write(
    'web',
    ring,
    `g${ring.generation}`,
  );
  const printed = await exportStekWithCli('nginx', state, join(prefix, 'keys'), at);
  expect(printed.join('')).toContain(join(prefix, 'keys', 'ssl_session_ticket_keys.conf'));
  const port = await freeLoopbackPort();
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
  await waitForPort(port, child, 'nginx', () =>
    readFile(join(prefix, 'logs', 'error.log'), 'utf8').catch(() => ''),
  );
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-stek-nginx-'));
  await makeLocalhostCertificate(dir, INSTALL);
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
      expect(await sessionLine(from, flag, ['-sess_out', session])).toMatch(/^New,/);
      expect(await sessionLine(to, flag, ['-sess_in', session])).toMatch(/^Reused,/);
    }
  });

  it('does not resume on an instance that holds none of the keys', async () => {
    const other = rotateRing(EMPTY_RING, T0, DEFAULT_STEK_POLICY, random).ring;
    const c = await startNginx('c', other, T0);
    const session = join(dir, 'session-a-c');
    await sessionLine(a, '-tls1_2', ['-sess_out', session]);
    expect(await sessionLine(c, '-tls1_2', ['-sess_in', session])).toMatch(/^New,/);
  });
});
