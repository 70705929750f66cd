import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACM_NEW,
  type AcmImport,
  acmImportArn,
  acmImportPending,
  acmTargetProblem,
  nextAcmImport,
  sameSerial,
} from '../../../src/core/acm-import.js';
import { decideIssuance } from '../../../src/core/issuance-checks.js';
import { DAY } from '../../../src/core/time.js';
import { aRecord } from '../../support/record-builder.js';

const ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
const OTHER_ARN =
  'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-4333-8444-555555555555';

const arnArb = fc
  .tuple(
    fc.constantFrom('aws', 'aws-cn', 'aws-us-gov'),
    fc.constantFrom('us-east-1', 'eu-west-1', 'cn-north-1'),
    fc.stringMatching(/^\d{12}$/),
    fc.uuid(),
  )
  .map(
    ([partition, region, account, id]) =>
      `arn:${partition}:acm:${region}:${account}:certificate/${id}`,
  );
const targetArb = fc.oneof(fc.constant(ACM_NEW), arnArb);
const stateArb: fc.Arbitrary<AcmImport | undefined> = fc.option(
  fc.record(
    { target: targetArb, arn: arnArb, importedSerial: fc.stringMatching(/^[0-9a-f]{2,40}$/) },
    { requiredKeys: ['target'] },
  ),
  { nil: undefined },
);

describe('certloop:acm values', () => {
  it('takes "new" and ACM certificate ARNs in any partition', () => {
    fc.assert(fc.property(targetArb, (target) => acmTargetProblem(target) === undefined));
  });

  it.each([
    ['', /is ""; it must be "new" or the ARN of an ACM certificate/],
    ['NEW', /is "NEW"/],
    ['arn:aws:s3:::bucket', /is "arn:aws:s3:::bucket"/],
    ['arn:aws:acm:us-east-1:1234:certificate/abc', /arn:aws:acm:<region>:<account>:certificate/],
    [`${ARN} ${OTHER_ARN}`, /must be "new" or the ARN/],
  ])('refuses %j, saying what it must be', (value, message) => {
    expect(acmTargetProblem(value)).toMatch(message);
  });

  it('shortens a long value in the message', () => {
    expect(acmTargetProblem('x'.repeat(300))?.length).toBeLessThan(250);
  });
});

describe('nextAcmImport', () => {
  it('is undefined without a target, whatever was imported before', () => {
    fc.assert(fc.property(stateArb, (state) => nextAcmImport(state, undefined) === undefined));
  });

  it('keeps everything when the target did not change, so re-tagging never makes a second certificate', () => {
    fc.assert(
      fc.property(stateArb, (state) => {
        if (!state) return true;
        return nextAcmImport(state, state.target) === state;
      }),
    );
  });

  it('starts over at a new target: a new ARN is imported into, "new" waits for the first import', () => {
    fc.assert(
      fc.property(stateArb, targetArb, (state, target) => {
        fc.pre(state?.target !== target);
        const next = nextAcmImport(state, target);
        expect(next?.target).toBe(target);
        expect(next?.importedSerial).toBeUndefined();
        expect(next?.arn).toBe(target === ACM_NEW ? undefined : target);
      }),
    );
  });
});

describe('acmImportArn', () => {
  it('is the known ARN, or the target ARN, or nothing for a first "new" import', () => {
    expect(acmImportArn({ target: ACM_NEW })).toBeUndefined();
    expect(acmImportArn({ target: ACM_NEW, arn: ARN })).toBe(ARN);
    expect(acmImportArn({ target: ARN })).toBe(ARN);
  });
});

describe('acmImportPending', () => {
  const current = { serial: '0A:1B:2C' };

  it('is owed when the current certificate is not the one imported', () => {
    expect(acmImportPending({ acm: { target: ARN }, current })).toBe(true);
    expect(acmImportPending({ acm: { target: ARN, importedSerial: '0a1b2d' }, current })).toBe(
      true,
    );
    expect(acmImportPending({ acm: { target: ARN, importedSerial: '0a1b2c' }, current })).toBe(
      false,
    );
  });

  it('is never owed without a target or without a certificate', () => {
    expect(acmImportPending({ current })).toBe(false);
    expect(acmImportPending({ acm: { target: ACM_NEW } })).toBe(false);
  });

  it('compares serials without case or separators', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 20 }), (bytes) => {
        const hex = Buffer.from(bytes).toString('hex');
        const colons = hex.toUpperCase().match(/../g)?.join(':') ?? '';
        return sameSerial(hex, colons);
      }),
    );
    expect(sameSerial('0a1b', '0a1c')).toBe(false);
  });
});

describe('decideIssuance with an ACM import owed', () => {
  const now = Date.UTC(2026, 10, 23, 12);
  const issued = {
    serial: '0a1b2c',
    notBefore: now - DAY,
    notAfter: now + 89 * DAY,
    domains: ['a.example.test'],
    keyType: 'ec-p256' as const,
    issuer: 'default',
    issuedAt: now - DAY,
  };

  it('imports an up-to-date certificate instead of ordering a new one, then looks again at renewAt', () => {
    const record = {
      ...aRecord({
        status: 'active',
        current: issued,
        renewAt: now + 60 * DAY,
        nextAttemptAt: now,
      }),
      acm: { target: ARN },
      version: 3,
    };
    expect(decideIssuance(record, now)).toMatchObject({
      action: 'import',
      reason: 'AcmImportPending',
      nextAttemptAt: now + 60 * DAY,
    });
    const imported = { ...record, acm: { target: ARN, arn: ARN, importedSerial: '0A:1B:2C' } };
    expect(decideIssuance(imported, now).action).toBe('reschedule');
  });

  it('still renews a certificate that is due, and the renewal is imported after it', () => {
    const record = {
      ...aRecord({ status: 'active', current: issued, renewAt: now - 1, nextAttemptAt: now }),
      acm: { target: ARN },
      version: 3,
    };
    expect(decideIssuance(record, now)).toMatchObject({
      action: 'issue',
      reason: 'RenewalTimeReached',
    });
  });
});
