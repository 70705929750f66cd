import { describe, expect, it } from 'vitest';
import { readStekConfig, STEK_ENV } from '../../../src/config/stek-environment.js';
import { HOUR } from '../../../src/core/time.js';

const BASE = {
  [STEK_ENV.tableName]: 'certloop-records',
  [STEK_ENV.sets]: '["certloop/stek/web","arn:aws:secretsmanager:eu-west-1:123456789012:secret:x"]',
};

describe('readStekConfig', () => {
  it('reads the defaults: 12 h period, 24 h retention, Secrets Manager, 5 min lease', () => {
    expect(readStekConfig(BASE)).toEqual({
      tableName: 'certloop-records',
      setIds: ['certloop/stek/web', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:x'],
      store: { kind: 'secrets-manager' },
      policy: { periodMs: 12 * HOUR, retentionMs: 24 * HOUR },
      leaseMs: 300_000,
    });
  });

  it('reads a directory store and other numbers', () => {
    const config = readStekConfig({
      ...BASE,
      [STEK_ENV.store]: 'directory',
      [STEK_ENV.storeDir]: '/var/lib/certloop',
      [STEK_ENV.periodHours]: '6',
      [STEK_ENV.retentionHours]: '18',
    });
    expect(config.store).toEqual({ kind: 'directory', root: '/var/lib/certloop' });
    expect(config.policy).toEqual({ periodMs: 6 * HOUR, retentionMs: 18 * HOUR });
  });

  it.each([
    ['the table is missing', { [STEK_ENV.tableName]: undefined }, STEK_ENV.tableName],
    ['the sets are missing', { [STEK_ENV.sets]: undefined }, STEK_ENV.sets],
    ['the sets are not JSON', { [STEK_ENV.sets]: '[web' }, STEK_ENV.sets],
    ['the sets are not strings', { [STEK_ENV.sets]: '[1]' }, STEK_ENV.sets],
    ['the sets are empty', { [STEK_ENV.sets]: '[]' }, STEK_ENV.sets],
    ['a set repeats', { [STEK_ENV.sets]: '["a","a"]' }, STEK_ENV.sets],
    ['the period is not a number', { [STEK_ENV.periodHours]: 'soon' }, STEK_ENV.periodHours],
    ['retention is below the period', { [STEK_ENV.retentionHours]: '2' }, STEK_ENV.retentionHours],
    ['the store is unknown', { [STEK_ENV.store]: 's3' }, STEK_ENV.store],
    ['the directory is missing', { [STEK_ENV.store]: 'directory' }, STEK_ENV.storeDir],
    ['the lease is fractional', { [STEK_ENV.leaseSeconds]: '1.5' }, STEK_ENV.leaseSeconds],
  ])('names the variable when %s', (_, change, variable) => {
    expect(() => readStekConfig({ ...BASE, ...change })).toThrowError(new RegExp(`^${variable}: `));
  });
});
