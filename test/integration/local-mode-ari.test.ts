/**
 * Local mode's embedded CA speaks ARI (pebble behind the ACME front): what a new user
 * sees with `npm start`, and the answer to a CA's incident notice, end to end through
 * the `certloop` command. The runner runs with the example certificates and a 2-second
 * tick; the test moves one certificate's window into the past on the embedded CA's
 * management API (as the README's curl example does), runs
 * `certloop renew --ari-check --all`, and watches the next ticks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { CertificateRecord } from '../../src/core/certificate-record.js';
import { type LocalMode, startLocalMode } from '../support/local-mode.js';

describe('local mode with ARI on the embedded CA', () => {
  let local: LocalMode | undefined;

  afterAll(async () => {
    await local?.stop();
  });

  it('shows ARI in the status table, and renew --ari-check renews exactly the certificate whose window moved, with replaces', async () => {
    local = await startLocalMode({ name: 'local-mode-ari' });
    const { state } = local;
    const certloop = async (...args: string[]) => (await local?.certloop(...args))?.stdout ?? '';
    const issued = await local.waitFor(
      (records) => records.length === 3 && records.every((r) => r.current),
    );
    expect(issued.map((r) => r.id).sort(), local.output().slice(-2000)).toEqual([
      'api',
      'wildcard',
      'www',
    ]);
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

    const after = await local.waitFor(
      (records) => records.find((r) => r.id === 'www')?.current?.serial !== www?.current?.serial,
      30_000,
    );
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
