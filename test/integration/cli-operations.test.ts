import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCertloop } from '../support/run-logged.js';

/** Runs the `certloop` command as a user would; its output also goes to the key-material audit. */
function certloop(...args: string[]) {
  return runCertloop(args, {
    logName: 'cli-operations',
    timeout: 120_000,
    env: { ...process.env, CERTLOOP_TABLE_NAME: '' },
  });
}

describe('certloop status and renew in local mode', () => {
  let stateDir = '';

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'certloop-cli-'));
    const once = await certloop(
      'local',
      '--once',
      '--config',
      'examples/certloop.local.json',
      '--state-dir',
      stateDir,
    );
    expect(once.code, once.stderr).toBe(0);
  });
  afterAll(async () => {
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('status shows every certificate as a table, and as JSON without lease internals', async () => {
    const table = await certloop('status', '--state-dir', stateDir);
    expect(table.code).toBe(0);
    for (const name of ['www', 'wildcard', 'api']) expect(table.stdout).toContain(name);
    expect(table.stdout).toContain('3 certificates in local state');
    // Local mode admitted the three through the planner's ledger, like the AWS planner.
    expect(table.stdout).toContain(
      'CA order budget: 3 of 300 orders admitted in the last 3 h 10 min; room for 297 more now',
    );
    const json = JSON.parse(
      (await certloop('status', '--state-dir', stateDir, '--json')).stdout,
    ) as Array<{ id: string; status: string; current?: { serial: string } }>;
    expect(json.map((r) => [r.id, r.status]).sort()).toEqual([
      ['api', 'active'],
      ['wildcard', 'active'],
      ['www', 'active'],
    ]);
    expect(JSON.stringify(json)).not.toContain('"lease"');
  });

  it('renew --serial --dry-run reports the match and the unknown serials, and changes nothing', async () => {
    const before = (await certloop('status', '--state-dir', stateDir, '--json')).stdout;
    const records = JSON.parse(before) as Array<{ id: string; current: { serial: string } }>;
    const api = records.find((r) => r.id === 'api');
    const serial = (api?.current.serial ?? '').toLowerCase().replace(/(..)(?!$)/g, '$1:');
    const dry = await certloop(
      'renew',
      '--serial',
      serial,
      '--serial',
      'DEADBEEF',
      '--dry-run',
      '--json',
      '--state-dir',
      stateDir,
    );
    expect(dry.code, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as {
      dryRun: boolean;
      scheduled: number;
      matched: Array<{ id: string }>;
      unknownSerials: string[];
    };
    expect(report).toMatchObject({
      dryRun: true,
      scheduled: 0,
      matched: [{ id: 'api' }],
      unknownSerials: ['DEADBEEF'],
    });
    expect((await certloop('status', '--state-dir', stateDir, '--json')).stdout).toBe(before);
  });

  it('stek export writes the nginx key files of the ring local mode rotated', async () => {
    const out = join(stateDir, 'nginx-stek');
    const exported = await certloop(
      'stek',
      'export',
      '--set',
      'tickets',
      '--format',
      'nginx',
      '--out',
      out,
      '--state-dir',
      stateDir,
    );
    expect(exported.code, exported.stderr).toBe(0);
    const keys = readdirSync(out).filter((f) => f.endsWith('.key'));
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) expect(statSync(join(out, key)).size).toBe(80);
    expect(readdirSync(out)).toContain('ssl_session_ticket_keys.conf');
  });

  it('renew for real schedules the renewal with its reason; a bad selector exits non-zero and changes nothing', async () => {
    const before = (await certloop('status', '--state-dir', stateDir, '--json')).stdout;
    const bad = await certloop('renew', '--all', '--secret', 'www', '--state-dir', stateDir);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('give exactly one selector, not secret and all');
    const badSerial = await certloop('renew', '--serial', 'zz', '--state-dir', stateDir);
    expect(badSerial.stderr).toContain('--serial must be hexadecimal serial numbers');
    expect((await certloop('status', '--state-dir', stateDir, '--json')).stdout).toBe(before);

    const real = await certloop(
      'renew',
      '--secret',
      'www',
      '--reason',
      'drill',
      '--state-dir',
      stateDir,
    );
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain('scheduled 1 renewal(s)');
    const after = JSON.parse(
      (await certloop('status', '--state-dir', stateDir, '--json')).stdout,
    ) as Array<{ id: string; forceRenewal?: { reason: string } }>;
    expect(after.find((r) => r.id === 'www')?.forceRenewal?.reason).toBe('drill');
  });
});
