// Real HAProxy: instances on loopback, each with the `tls-ticket-keys` file that
// `certloop stek export --format haproxy` wrote (80-byte keys N|A|H, base64 lines oldest
// first, the encrypting key second-to-last, the next key last). openssl s_client saves a
// session from one instance and offers it to another: "Reused" when the receiving file
// holds the key that sealed the ticket, "New" when it does not. Each ticket is also
// opened here with the ring's own bytes (key name, HMAC-SHA256 with H, AES-256-CBC with
// A): that proves the byte layout and which line HAProxy encrypts with, which two
// HAProxies agreeing with each other alone would not.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryStekStore } from '../../src/adapters/local/directory-stek-store.js';
import { haproxyKeyBytes } from '../../src/core/stek-formats.js';
import {
  DEFAULT_STEK_POLICY,
  EMPTY_RING,
  rotateRing,
  type StekKey,
  type StekRing,
  toBase64,
} from '../../src/core/stek-ring.js';
import {
  exportStekWithCli,
  findServerBinary,
  freeLoopbackPort,
  makeLocalhostCertificate,
  sessionLine,
  waitForPort,
} from '../support/tls-peers.js';

const run = promisify(execFile);
const INSTALL =
  'bash scripts/ensure-test-servers.sh (or: apt-get update && apt-get install -y haproxy openssl)';
const P = DEFAULT_STEK_POLICY.periodMs;
const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const random = (n: number) => new Uint8Array(randomBytes(n));

let dir: string;
const children: ChildProcess[] = [];

interface Instance {
  port: number;
  /** The exported `tls-ticket-keys` lines, in file order. */
  lines: string[];
}

async function startHaproxy(name: string, ring: StekRing, at: number): Promise<Instance> {
  const haproxy = await findServerBinary('haproxy', INSTALL);
  const prefix = join(dir, name);
  const state = join(prefix, 'state');
  await mkdir(prefix, { recursive: true });
  await new DirectoryStekStore({ root: join(state, 'secrets') }).write(
    'web',
    ring,
    `g${ring.generation}`,
  );
  const keys = join(prefix, 'tls-ticket-keys');
  const printed = await exportStekWithCli('haproxy', state, keys, at);
  expect(printed.join('')).toBe(`${keys}\n`);
  const lines = (await readFile(keys, 'utf8')).split('\n').filter((line) => line !== '');
  const port = await freeLoopbackPort();
  const config = join(prefix, 'haproxy.cfg');
  await writeFile(
    config,
    `global
  tune.ssl.cachesize 0

defaults
  mode http
  timeout connect 5s
  timeout client 5s
  timeout server 5s

frontend web
  bind 127.0.0.1:${port} ssl crt ${dir}/server.pem tls-ticket-keys ${keys} ssl-min-ver TLSv1.2
  http-request return status 200 content-type text/plain string ok
`,
  );
  // -db: foreground, no daemon; the log goes to stderr, kept for error messages.
  const child = spawn(haproxy, ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  children.push(child);
  await waitForPort(port, child, 'haproxy', () => log);
  return { port, lines };
}

/**
 * The serial of the ring key that sealed the ticket in a saved session. The ticket
 * (key name[16] | IV[16] | AES-256-CBC ciphertext | HMAC-SHA256[32]) must carry that
 * key's name, its MAC must verify with the key's HMAC secret and its ciphertext must
 * decrypt (valid padding) with the key's AES key. Nothing of it is printed.
 */
async function ticketSealedBy(session: string, keys: readonly StekKey[]): Promise<number> {
  const { stdout } = await run('openssl', ['sess_id', '-in', session, '-noout', '-text']);
  const dump = stdout.split(/TLS session ticket:\r?\n/)[1] ?? '';
  const hex: string[] = [];
  for (const line of dump.split('\n')) {
    const row = /^\s*[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){0,15}[0-9a-f]{2})/.exec(line);
    if (!row) break;
    hex.push(...(row[1] ?? '').split(/[ -]/));
  }
  const ticket = Buffer.from(hex.join(''), 'hex');
  expect(ticket.length).toBeGreaterThan(64);
  const name = ticket.subarray(0, 16);
  const key = keys.find((candidate) => Buffer.from(candidate.material.name()).equals(name));
  if (!key) throw new Error('the ticket names no key of the ring');
  const mac = createHmac('sha256', key.material.hmacSecret())
    .update(ticket.subarray(0, -32))
    .digest();
  expect(timingSafeEqual(mac, ticket.subarray(-32))).toBe(true);
  const decipher = createDecipheriv('aes-256-cbc', key.material.aesKey(), ticket.subarray(16, 32));
  decipher.update(ticket.subarray(32, -32));
  decipher.final();
  return key.serial;
}

/** The base64 line HAProxy reads for a key (name | AES | HMAC). */
const line = (key: StekKey) => toBase64(haproxyKeyBytes(key));

function keyBySerial(ring: StekRing, serial: number): StekKey {
  const key = ring.keys.find((candidate) => candidate.serial === serial);
  if (!key) throw new Error(`no key ${serial} in the ring`);
  return key;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'certloop-stek-haproxy-'));
  await makeLocalhostCertificate(dir, INSTALL);
  // HAProxy's `crt` takes the certificate and its key in one PEM file.
  await writeFile(
    join(dir, 'server.pem'),
    (await readFile(join(dir, 'cert.pem'), 'utf8')) +
      (await readFile(join(dir, 'key.pem'), 'utf8')),
    { mode: 0o600 },
  );
});

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      const closed = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await closed;
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('HAProxy with exported tls-ticket-keys files', () => {
  // Key 1 encrypts [T0, T0+P), key 2 [T0+P, T0+2P), key 3 (added by v2) from T0+2P.
  const v1 = rotateRing(EMPTY_RING, T0, DEFAULT_STEK_POLICY, random).ring;
  const v2 = rotateRing(v1, T0 + P, DEFAULT_STEK_POLICY, random).ring;
  const [k1, k2, k3] = [1, 2, 3].map((serial) => keyBySerial(v2, serial)) as [
    StekKey,
    StekKey,
    StekKey,
  ];
  let a: Instance;
  let b: Instance;
  let before: Instance;

  beforeAll(async () => {
    // A still has ring v1, B has v2; both export one minute after the switch, so both
    // encrypt with key 2 (a host one ring version behind still agrees). v1 has no key
    // after key 2 yet, so A repeats key 2 as its last line.
    a = await startHaproxy('a', v1, T0 + P + 60_000);
    b = await startHaproxy('b', v2, T0 + P + 60_000);
    // An export from v1 one minute before the switch: encrypts with key 1.
    before = await startHaproxy('before', v1, T0 + P - 60_000);
  });

  it('writes oldest first, the encrypting key second-to-last and the next key last', () => {
    expect(a.lines).toEqual([line(k1), line(k2), line(k2)]);
    expect(b.lines).toEqual([line(k1), line(k2), line(k3)]);
    expect(before.lines).toEqual([line(k1), line(k1), line(k2)]);
  });

  it.each([
    ['-tls1_2', 'TLS 1.2'],
    ['-tls1_3', 'TLS 1.3'],
  ])(
    'two instances exported from consecutive ring versions resume each other’s sessions in both directions (%s, %s)',
    async (flag) => {
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const session = join(dir, `session-${from.port}-${to.port}${flag}`);
        expect(await sessionLine(from.port, flag, ['-sess_out', session])).toMatch(/^New,/);
        expect(await ticketSealedBy(session, v2.keys)).toBe(2);
        expect(await sessionLine(to.port, flag, ['-sess_in', session])).toMatch(/^Reused,/);
      }
    },
  );

  it.each([
    ['-tls1_2', 'TLS 1.2'],
    ['-tls1_3', 'TLS 1.3'],
  ])(
    'an instance exported from a ring that holds none of the keys starts a new session (%s, %s)',
    async (flag) => {
      const other = rotateRing(EMPTY_RING, T0, DEFAULT_STEK_POLICY, random).ring;
      const c = await startHaproxy(`c${flag}`, other, T0 + P + 60_000);
      const session = join(dir, `session-a-c${flag}`);
      expect(await sessionLine(a.port, flag, ['-sess_out', session])).toMatch(/^New,/);
      expect(await sessionLine(c.port, flag, ['-sess_in', session])).toMatch(/^New,/);
    },
  );

  it.each([
    ['-tls1_2', 'TLS 1.2'],
    ['-tls1_3', 'TLS 1.3'],
  ])(
    'after the switch the newer export still resumes sessions issued under the previous key, and the older export those under the next key (%s, %s)',
    async (flag) => {
      // Before the switch: sealed with key 1, which B keeps as its first (decrypt-only) line.
      const old = join(dir, `session-before-b${flag}`);
      expect(await sessionLine(before.port, flag, ['-sess_out', old])).toMatch(/^New,/);
      expect(await ticketSealedBy(old, v2.keys)).toBe(1);
      expect(await sessionLine(b.port, flag, ['-sess_in', old])).toMatch(/^Reused,/);
      // After the switch: sealed with key 2, the last (decrypt-only) line of the older export.
      const fresh = join(dir, `session-b-before${flag}`);
      expect(await sessionLine(b.port, flag, ['-sess_out', fresh])).toMatch(/^New,/);
      expect(await ticketSealedBy(fresh, v2.keys)).toBe(2);
      expect(await sessionLine(before.port, flag, ['-sess_in', fresh])).toMatch(/^Reused,/);
    },
  );
});
