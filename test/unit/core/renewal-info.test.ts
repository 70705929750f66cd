import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARI_LATEST_EXTRA,
  ARI_RECHECK_DEFAULT,
  ARI_RECHECK_MAX,
  ARI_RECHECK_MIN,
  type AriInput,
  applyRenewalInfo,
  ariCertificateId,
  latestAriRenewal,
  nextAriCheck,
  serialDerBytes,
  windowProblem,
} from '../../../src/core/renewal-info.js';
import { lifetimeRenewalTime } from '../../../src/core/renewal-window.js';
import { DAY, HOUR } from '../../../src/core/time.js';

const NOW = Date.parse('2026-12-04T12:00:00Z');
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('ariCertificateId', () => {
  it('matches the example of RFC 9773 section 4.1', () => {
    const aki = Buffer.from('69885B6B87464041E1B37B847BA0AE2CDE01C8D4', 'hex');
    expect(ariCertificateId(aki, '00:87:65:43:21')).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('adds the DER leading zero to a serial whose high bit is set, as node prints it without', () => {
    expect(hex(serialDerBytes('876543'))).toBe('00876543');
    expect(hex(serialDerBytes('7F'))).toBe('7f');
    expect(hex(serialDerBytes('0000ab'))).toBe('00ab');
    expect(hex(serialDerBytes('abc'))).toBe('0abc');
  });

  it('refuses a serial that is not hexadecimal and an empty key identifier', () => {
    expect(() => serialDerBytes('xyz')).toThrow(/not a hexadecimal serial/);
    expect(() => ariCertificateId(new Uint8Array(), '01')).toThrow(/authority key identifier/);
  });

  it('always yields positive minimal DER integers that decode back to the serial', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 20 }), (serial) => {
        const bytes = serialDerBytes(hex(serial));
        // positive: high bit of the first byte clear
        expect((bytes[0] ?? 0) & 0x80).toBe(0);
        // minimal: a leading zero only when the next byte needs it
        if (bytes.length > 1 && bytes[0] === 0) expect((bytes[1] ?? 0) & 0x80).not.toBe(0);
        expect(BigInt(`0x${hex(bytes)}`)).toBe(BigInt(`0x${hex(serial)}`));
      }),
    );
  });

  it('separates the key identifier and serial with one dot, both base64url without padding', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        fc.uint8Array({ minLength: 1, maxLength: 20 }),
        (aki, serial) => {
          const id = ariCertificateId(aki, hex(serial));
          expect(id).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
          const [left, right] = id.split('.');
          expect(hex(Buffer.from(left ?? '', 'base64url'))).toBe(hex(aki));
          expect(BigInt(`0x${hex(Buffer.from(right ?? '', 'base64url'))}`)).toBe(
            BigInt(`0x${hex(serial)}`),
          );
        },
      ),
    );
  });
});

describe('nextAriCheck', () => {
  it('follows Retry-After clamped to 1 h .. 24 h, and re-checks after 6 h without one', () => {
    expect(nextAriCheck(NOW, undefined)).toBe(NOW + ARI_RECHECK_DEFAULT);
    expect(nextAriCheck(NOW, 60_000)).toBe(NOW + ARI_RECHECK_MIN);
    expect(nextAriCheck(NOW, 3 * HOUR)).toBe(NOW + 3 * HOUR);
    expect(nextAriCheck(NOW, 30 * DAY)).toBe(NOW + ARI_RECHECK_MAX);
  });
});

const lifetimes = fc.constantFrom(160 * HOUR, 45 * DAY, 90 * DAY, 64 * DAY);

function inputFor(lifetime: number, overrides: Partial<AriInput> = {}): AriInput {
  const validity = { notBefore: NOW, notAfter: NOW + lifetime };
  return {
    certId: 'aki.serial',
    validity,
    lifetimeRenewAt: lifetimeRenewalTime(validity, 0.02),
    now: NOW,
    random: () => 0.5,
    ...overrides,
  };
}

describe('applyRenewalInfo', () => {
  it('never renews later than the lifetime rule plus 5 % of the lifetime, whatever the window', () => {
    fc.assert(
      fc.property(
        lifetimes,
        fc.integer({ min: -400, max: 4000 }),
        fc.integer({ min: 0, max: 4000 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (lifetime, startHours, spanHours, draw) => {
          const input = inputFor(lifetime, { random: () => draw });
          const start = NOW + startHours * HOUR;
          const decision = applyRenewalInfo(input, {
            answer: { window: { start, end: start + spanHours * HOUR } },
          });
          const bound = lifetimeRenewalTime(input.validity, 0) + lifetime * ARI_LATEST_EXTRA;
          expect(decision.renewAt).toBeLessThanOrEqual(Math.max(bound, input.lifetimeRenewAt));
        },
      ),
    );
  });

  it('picks an instant inside a usable window, and keeps it while the window is unchanged', () => {
    fc.assert(
      fc.property(
        lifetimes,
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (lifetime, draw) => {
          const input = inputFor(lifetime, { random: () => draw });
          const window = { start: NOW + lifetime * 0.55, end: NOW + lifetime * 0.6 };
          const first = applyRenewalInfo(input, { answer: { window } });
          expect(first.rule).toBe('ari-suggested-window');
          expect(first.windowMoved).toBe(true);
          expect(first.renewAt).toBeGreaterThanOrEqual(window.start);
          expect(first.renewAt).toBeLessThanOrEqual(window.end);
          const again = applyRenewalInfo(
            {
              ...input,
              ...(first.ari ? { previous: first.ari } : {}),
              previousRenewAt: first.renewAt,
              random: () => 0.99,
            },
            { answer: { window } },
          );
          expect(again.renewAt).toBe(first.renewAt);
          expect(again.windowMoved).toBe(false);
        },
      ),
    );
  });

  it('renews now when the CA moves the window into the past', () => {
    const input = inputFor(90 * DAY);
    const before = applyRenewalInfo(input, {
      answer: { window: { start: NOW + 60 * DAY, end: NOW + 62 * DAY } },
    });
    const later = NOW + 10 * DAY;
    const moved = applyRenewalInfo(
      {
        ...input,
        now: later,
        ...(before.ari ? { previous: before.ari } : {}),
        previousRenewAt: before.renewAt,
      },
      { answer: { window: { start: later - 2 * HOUR, end: later - HOUR } } },
    );
    expect(moved.windowMoved).toBe(true);
    expect(moved.renewAt).toBeLessThanOrEqual(later);
    expect(moved.detail).toMatch(/in the past: renew now/);
  });

  it('leaves the lifetime rule in force for a window that ends before it starts or starts years away', () => {
    const input = inputFor(90 * DAY);
    for (const window of [
      { start: NOW + 60 * DAY, end: NOW + 59 * DAY },
      { start: NOW + 3 * 365 * DAY, end: NOW + 4 * 365 * DAY },
    ]) {
      const decision = applyRenewalInfo(input, { answer: { window } });
      expect(decision.renewAt).toBe(input.lifetimeRenewAt);
      expect(decision.rule).toBe('two-thirds-of-lifetime');
      expect(decision.ari?.window).toBeUndefined();
      expect(decision.ari?.problem).toBe(windowProblem(window, input.validity));
    }
  });

  it('backs failed checks off on their own schedule and keeps a window accepted before', () => {
    const input = inputFor(45 * DAY);
    const good = applyRenewalInfo(input, {
      answer: { window: { start: NOW + 27 * DAY, end: NOW + 29 * DAY } },
    });
    const failed = applyRenewalInfo(
      { ...input, ...(good.ari ? { previous: good.ari } : {}), previousRenewAt: good.renewAt },
      { failure: 'HTTP 503' },
    );
    expect(failed.renewAt).toBe(good.renewAt);
    expect(failed.ari?.failures).toBe(1);
    expect(failed.ari?.checkAt).toBe(NOW + 5 * 60_000);
    const failedAgain = applyRenewalInfo(
      {
        ...input,
        ...(failed.ari ? { previous: failed.ari } : {}),
        previousRenewAt: failed.renewAt,
      },
      { failure: 'HTTP 503' },
    );
    expect(failedAgain.ari?.failures).toBe(2);
    expect(failedAgain.ari?.checkAt).toBe(NOW + 10 * 60_000);
    const firstFailure = applyRenewalInfo(input, { failure: 'timeout' });
    expect(firstFailure.renewAt).toBe(input.lifetimeRenewAt);
    expect(firstFailure.rule).toBe('two-thirds-of-lifetime');
  });

  it('uses the half-of-lifetime rule for a 160-hour certificate without ARI', () => {
    const decision = applyRenewalInfo(inputFor(160 * HOUR), { unsupported: true });
    expect(decision.rule).toBe('half-of-lifetime');
    expect(decision.ari).toBeUndefined();
    expect(latestAriRenewal({ notBefore: NOW, notAfter: NOW + 160 * HOUR })).toBe(
      NOW + 160 * HOUR * 0.55,
    );
  });
});
