import { describe, expect, it } from 'vitest';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { parseRenewPayload } from '../../../src/app/renew-payload.js';
import type { RenewalInfoAnswer } from '../../../src/core/renewal-info.js';
import { DAY, HOUR } from '../../../src/core/time.js';
import { recheckRenewalInfo } from '../../../src/services/recheck-renewal-info.js';
import { ManualClock } from '../../support/manual-clock.js';
import { aRecord } from '../../support/record-builder.js';
import { RecordingLogger } from '../../support/test-loggers.js';

const NOW = Date.UTC(2026, 11, 4, 12);
const WINDOW = { start: NOW + 20 * DAY, end: NOW + 22 * DAY };

async function fleet() {
  const clock = new ManualClock(NOW);
  const records = new MemoryRecordStore();
  const current = (serial: string) => ({
    serial,
    notBefore: NOW - 40 * DAY,
    notAfter: NOW + 50 * DAY,
    domains: ['a.example.test'],
    keyType: 'ec-p256' as const,
    issuer: 'default',
    issuedAt: NOW - 40 * DAY,
  });
  for (const serial of ['0a', '0b']) {
    await records.create(
      aRecord({
        id: `cert-${serial}`,
        status: 'active',
        current: current(serial),
        renewAt: NOW + 21 * DAY,
        renewalRule: 'ari-suggested-window',
        ari: { certId: `aki.${serial}`, window: WINDOW, checkAt: NOW + 5 * HOUR, failures: 0 },
        nextAttemptAt: NOW + 5 * HOUR,
      }),
    );
  }
  await records.create(
    aRecord({ id: 'cert-0c', status: 'active', current: current('0c'), renewAt: NOW + DAY }),
  );
  // The CA moved the window of serial 0b into the past (an incident).
  const answers: Record<string, RenewalInfoAnswer> = {
    'aki.0a': { window: WINDOW },
    'aki.0b': {
      window: { start: NOW - 2 * HOUR, end: NOW - HOUR },
      explanationUrl: 'https://ca.test/incident',
    },
  };
  const deps = {
    records,
    clock,
    logger: new RecordingLogger(),
    random: () => 0.5,
    issuers: () => ({
      renewalInfo: async (certId: string) => answers[certId],
    }),
  };
  return { deps, records };
}

describe('recheckRenewalInfo (renew --ari-check)', () => {
  it('reports the window that moved, and makes that certificate due now, leaving the others', async () => {
    const { deps, records } = await fleet();
    const report = await recheckRenewalInfo(deps, { selector: { all: true }, dryRun: false });
    expect(report.moved).toBe(1);
    expect(report.renewNow).toBe(1);
    expect(report.checked.map((c) => [c.id, c.windowMoved])).toEqual([
      ['cert-0a', false],
      ['cert-0b', true],
    ]);
    expect(report.checked[1]?.explanationUrl).toBe('https://ca.test/incident');
    expect(report.skipped).toEqual([
      { id: 'cert-0c', why: expect.stringMatching(/no renewal information identifier/) },
    ]);
    const moved = await records.get('cert-0b');
    expect(moved?.nextAttemptAt).toBeLessThanOrEqual(NOW);
    expect(moved?.renewAt).toBeLessThanOrEqual(NOW);
    const unchanged = await records.get('cert-0a');
    expect(unchanged?.renewAt).toBe(NOW + 21 * DAY);
  });

  it('stores nothing on a dry run', async () => {
    const { deps, records } = await fleet();
    const before = await records.list();
    const report = await recheckRenewalInfo(deps, {
      selector: { serials: ['0B'] },
      dryRun: true,
    });
    expect(report.moved).toBe(1);
    expect(await records.list()).toEqual(before);
  });

  it('takes "ariCheck": true in a Renew payload, and refuses anything but a boolean', () => {
    expect(parseRenewPayload({ all: true, ariCheck: true })).toMatchObject({ ariCheck: true });
    expect(() => parseRenewPayload({ all: true, ariCheck: 'yes' })).toThrow(
      /"ariCheck" must be true or false/,
    );
  });
});
