// Real nginx: two instances on loopback, each with the key files `certloop stek export
// --format nginx` wrote from consecutive ring versions (A lags one version behind and
// still encrypts with the old key; B already encrypts with the new one). openssl
// s_client saves a session from one and offers it to the other: "Reused" both ways,
// because each holds the other's encrypting key as a decrypt-only key.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
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
import { NGINX_INSTALL, type RunningNginx, startNginx } from '../support/nginx.js';
import { exportStekWithCli, makeLocalhostCertificate, sessionLine } from '../support/tls-peers.js';

const P = DEFAULT_STEK_POLICY.periodMs;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const random = (n: number) => new Uint8Array(randomBytes(n));

let dir: string;
const running: RunningNginx[] = [];

/** An nginx whose ticket keys `certloop stek export` wrote from `ring` at time `at`. */
async function startWithRing(name: string, ring: StekRing, at: number): Promise<number> {
  const prefix = join(dir, name);
  const state = join(prefix, 'state');
  await new DirectoryStekStore({ root: join(state, 'secrets') }).write(
    'web',
    ring,
    `g${ring.generation}`,
  );
  const printed = await exportStekWithCli('nginx', state, join(prefix, 'keys'), at);
  expect(printed.join('')).toContain(join(prefix, 'keys', 'ssl_session_ticket_keys.conf'));
  const nginx = await startNginx({
    prefix,
    certificate: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
    serverLines: [
      'ssl_protocols TLSv1.2 TLSv1.3;',
      'ssl_session_cache off;',
      'ssl_session_tickets on;',
      `include ${prefix}/keys/ssl_session_ticket_keys.conf;`,
    ],
  });
  running.push(nginx);
  return nginx.port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-stek-nginx-'));
  await makeLocalhostCertificate(dir, NGINX_INSTALL);
});

afterAll(async () => {
  for (const nginx of running) await nginx.stop();
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
    a = await startWithRing('a', v1, T0 + P - 60_000);
    b = await startWithRing('b', v2, T0 + P);
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
    const c = await startWithRing('c', other, T0);
    const session = join(dir, 'session-a-c');
    await sessionLine(a, '-tls1_2', ['-sess_out', session]);
    expect(await sessionLine(c, '-tls1_2', ['-sess_in', session])).toMatch(/^New,/);
  });
});
