// Real TLS with node:tls. Node's `ticketKeys` holds ONE 48-byte key that both encrypts
// and decrypts: decrypt-only keys cannot be expressed. So what holds for Node hosts is:
// - hosts that export at the same instant use the same (time-chosen) key, even when one
//   of them still has the previous ring version: they resume each other's sessions;
// - across the switch instant (one host still on the old key, one on the new) and for
//   tickets from a key past retention, resumption fails over to a full handshake
//   without any error.
// Checked for TLS 1.2 and TLS 1.3.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type SecureVersion, type Server } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportNode } from '../../src/core/stek-formats.js';
import {
  DEFAULT_STEK_POLICY,
  EMPTY_RING,
  rotateRing,
  type StekRing,
} from '../../src/core/stek-ring.js';
import { makeLocalhostCertificate } from '../support/tls-peers.js';

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const P = DEFAULT_STEK_POLICY.periodMs;
const R = DEFAULT_STEK_POLICY.retentionMs;
const random = (n: number) => new Uint8Array(randomBytes(n));

let dir: string;
let key: string;
let cert: string;
const servers: Server[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-stek-tls-'));
  await makeLocalhostCertificate(dir, 'apt-get update && apt-get install -y openssl');
  key = await readFile(join(dir, 'key.pem'), 'utf8');
  cert = await readFile(join(dir, 'cert.pem'), 'utf8');
});

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((done) => server.close(done))));
  await rm(dir, { recursive: true, force: true });
});

async function startServer(ticketKeys: Uint8Array, version: SecureVersion): Promise<number> {
  const server = createServer({
    key,
    cert,
    ticketKeys: Buffer.from(ticketKeys),
    minVersion: version,
    maxVersion: version,
  });
  server.on('secureConnection', (socket) => socket.end('ok'));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

/** One connection; resolves with whether it resumed and the last session it received. */
function handshake(
  port: number,
  version: SecureVersion,
  session?: Buffer,
): Promise<{ reused: boolean; session: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    let latest: Buffer | undefined;
    let reused = false;
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      rejectUnauthorized: false,
      minVersion: version,
      maxVersion: version,
      ...(session ? { session } : {}),
    });
    socket.on('session', (data: Buffer) => {
      latest = data;
    });
    socket.on('secureConnect', () => {
      reused = socket.isSessionReused();
    });
    socket.on('data', () => undefined);
    socket.on('error', reject);
    socket.on('close', () => resolve({ reused, session: latest }));
  });
}

/** Ring version n (first rotation at T0) and n + 1 (the rotation one period later). */
function consecutiveRings(): [StekRing, StekRing] {
  const v1 = rotateRing(EMPTY_RING, T0, DEFAULT_STEK_POLICY, random).ring;
  const v2 = rotateRing(v1, T0 + P, DEFAULT_STEK_POLICY, random).ring;
  return [v1, v2];
}

async function resumesAcross(
  from: number,
  to: number,
  version: SecureVersion,
): Promise<{ first: boolean; second: boolean }> {
  const issued = await handshake(from, version);
  expect(issued.session).toBeDefined();
  const resumed = await handshake(to, version, issued.session);
  return { first: issued.reused, second: resumed.reused };
}

describe.each(['TLSv1.2', 'TLSv1.3'] as const)('node:tls with %s', (version) => {
  it('hosts on ring versions n and n+1 at the same instant resume each other’s sessions', async () => {
    const [v1, v2] = consecutiveRings();
    const at = T0 + P + 60_000; // v2 just published; host A has not pulled it yet
    const a = await startServer(exportNode(v1, at), version);
    const b = await startServer(exportNode(v2, at), version);
    expect(await resumesAcross(a, b, version)).toEqual({ first: false, second: true });
    expect(await resumesAcross(b, a, version)).toEqual({ first: false, second: true });
  });

  it('falls back to a full handshake, without error, across the switch instant', async () => {
    const [v1, v2] = consecutiveRings();
    const a = await startServer(exportNode(v1, T0 + P - 1), version); // still on key 1
    const b = await startServer(exportNode(v2, T0 + P), version); // already on key 2
    expect(await resumesAcross(a, b, version)).toEqual({ first: false, second: false });
    expect(await resumesAcross(b, a, version)).toEqual({ first: false, second: false });
  });

  it('refuses (full handshake, no error) a ticket whose key is past retention', async () => {
    const [v1] = consecutiveRings();
    let ring = v1;
    const late = T0 + P + R + 1; // key 1 stopped at T0 + P, dropped at T0 + P + R
    for (let t = T0 + P; t <= late; t += P)
      ring = rotateRing(ring, t, DEFAULT_STEK_POLICY, random).ring;
    ring = rotateRing(ring, late, DEFAULT_STEK_POLICY, random).ring;
    expect(ring.keys.some((k) => k.serial === 1)).toBe(false);
    const old = await startServer(exportNode(v1, T0), version);
    const now = await startServer(exportNode(ring, late), version);
    expect(await resumesAcross(old, now, version)).toEqual({ first: false, second: false });
    // The same server still resumes its own fresh tickets.
    expect(await resumesAcross(now, now, version)).toEqual({ first: false, second: true });
  });
});
