import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerStekStore } from '../../src/adapters/aws/secrets-manager-stek-store.js';
import { DEFAULT_STEK_POLICY, EMPTY_RING, rotateRing } from '../../src/core/stek-ring.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';

const run = promisify(execFile);
const logFile = join(process.cwd(), 'test', '.logs', `stek-export-aws-${process.pid}.log`);

// A host's timer exporting a STEK set from Secrets Manager (moto here), through the
// standard credential chain and AWS_ENDPOINT_URL, as it would from AWS.
describe('certloop stek export against Secrets Manager', () => {
  let moto: MotoEnv;
  let dir = '';

  beforeAll(async () => {
    moto = await useMotoEnv();
    dir = await mkdtemp(join(tmpdir(), 'certloop-stek-aws-'));
    const store = new SecretsManagerStekStore({ client: new SecretsManagerClient({}) });
    const decision = rotateRing(
      EMPTY_RING,
      Date.now(),
      DEFAULT_STEK_POLICY,
      (n) => new Uint8Array(randomBytes(n)),
    );
    await store.write('tls/tickets', decision.ring, 'generation-1');
  });
  afterAll(async () => {
    await moto?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('writes the HAProxy key file (base64 80-byte keys, mode 0600) and prints only its path', async () => {
    const out = join(dir, 'tls-ticket-keys');
    const { stdout, stderr } = await run(
      process.execPath,
      [
        'bin/certloop.mjs',
        'stek',
        'export',
        '--set',
        'tls/tickets',
        '--aws',
        '--format',
        'haproxy',
        '--out',
        out,
      ],
      {
        cwd: process.cwd(),
        env: { ...process.env },
      },
    );
    appendFileSync(logFile, stdout + stderr);
    expect(stdout.trim()).toBe(out);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(Buffer.from(line, 'base64')).toHaveLength(80);
    expect(statSync(out).mode & 0o777).toBe(0o600);
  });
});
