/**
 * Local mode's embedded CA speaks ARI (pebble behind the ACME front): what a new user
 * sees with `npm start`, and the answer to a CA's incident notice, end to end through
 * the `certloop` command. The runner runs with the example certificates and a 2-second
 * tick; the test moves one certificate's window into the past on the embedded CA's
 * management API (as the README's curl example does), runs
 * `certloop renew --ari-check --all`, and watches the next ticks.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { CertificateRecord } from '../../src/core/certificate-record.js';

const run = promisify(execFile);
const logFile = join(process.cwd(), 'test', '.logs', `local-mode-ari-${process.pid}.log`);

async function certloop(...args: string[]): Promise<string> {
  const { stdout, stderr } = await run(process.execPath, ['bin/certloop.mjs', ...args], {
    cwd: process.cwd(),
    timeout: 60_000,
    env: { ...process.env, CERTLOOP_TABLE_NAME: '', CERTLOOP_ISSUERS: '' },
  });
  appendFileSync(logFile, stdout + stderr);
  return stdout;
}

describe('local mode with ARI on the embedded CA', () => {
  let child: ChildProcess | undefined;
  let stateDir = '';

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGINT');
      await new Promise((resolve) => child?.once('exit', resolve));
    }
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  it('shows ARI in the status table, and renew --ari-check renews exactly the certificate whose window moved, with replaces', async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'certloop-local-ari-'));
    const config = JSON.parse(readFileSync('examples/certloop.local.json', 'utf8'));
    const configPath = join(stateDir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ ...config, tickIntervalSeconds: 2, stekSets: [] }));
    child = spawn(
      process.execPath,
      ['bin/certloop.mjs', 'local', '--config', configPath, '--state-dir', join(stateDir, 'state')],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      appendFileSync(logFile, chunk);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const state = join(stateDir, 'state');
    const records = async () =>
      JSON.parse(await certloop('status', '--json', '--state-dir', state)) as CertificateRecord[];

    const deadline = Date.now() + 60_000;
    let issued: CertificateRecord[] = [];
    while (Date.now() < deadline && child.exitCode === null) {
      if (existsSync(join(state, 'issuers.json'))) {
        issued = await records();
        if (issued.length === 3 && issued.every((r) => r.current)) break;
      }
      await sleep(500);
    }
    expect(issued.map((r) => r.id).sort(), output.slice(-2000)).toEqual(['api', 'wildcard', 'www']);
    for (const record of issued) {
      expect(record.renewalRule).toBe('ari-suggested-window');
      expect(record.ari?.window).toBeDefined();
    }
    const table = await certloop('status', '--state-dir', state);
    expect(table).toMatch(/ari 20\d\d-/);
    expect(table).toMatch(/window /);
    expect(table).toMatch(/ARI check /);

    const www = issued.find((r) => r.id === 'www');
    const { managementUrl } = JSON.parse(readFileSync(join(state, 'embedded-ca.json'), 'utf8'));
    const moved = await fetch(`${managementUrl}/windows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ serials: [www?.current?.serial], window: 'past' }),
    });
    expect(await moved.json()).toMatchObject({ moved: [expect.any(String)], unknown: [] });

    const report = await certloop('renew', '--ari-check', '--all', '--state-dir', state);
    expect(report).toMatch(/3 certificate\(s\) .*; 1 window\(s\) moved, 1 renew now/);
    expect(report).toMatch(/www .* MOVED/);

    let after: CertificateRecord[] = issued;
    while (Date.now() < deadline + 30_000) {
      after = await records();
      if (after.find((r) => r.id === 'www')?.current?.serial !== www?.current?.serial) break;
      await sleep(500);
    }
    const serial = (id: string, list: CertificateRecord[]) =>
      list.find((r) => r.id === id)?.current?.serial;
    expect(serial('www', after)).not.toBe(serial('www', issued));
    expect(serial('api', after)).toBe(serial('api', issued));
    expect(serial('wildcard', after)).toBe(serial('wildcard', issued));
    const orders = (await (await fetch(`${managementUrl}/orders`)).json()) as Array<{
      identifiers: string[];
      replaces?: string;
      status: string;
    }>;
    expect(orders.filter((o) => o.replaces !== undefined)).toEqual([
      expect.objectContaining({ replaces: www?.ari?.certId, status: 'valid' }),
    ]);
  }, 120_000);
});
