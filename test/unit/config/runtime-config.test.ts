import { describe, expect, it } from 'vitest';
import { ENV } from '../../../src/config/environment.js';
import { ConfigError, readRuntimeConfig } from '../../../src/config/runtime-config.js';

const valid = {
  [ENV.tableName]: 'certloop-records',
  [ENV.issuers]: JSON.stringify({ default: { directoryUrl: 'https://127.0.0.1:14000/dir' } }),
  [ENV.allowedSuffixes]: 'example.test, example.org',
  [ENV.secretStoreDir]: '/var/lib/certloop',
  [ENV.challtestsrvUrl]: 'http://127.0.0.1:8055',
  [ENV.challtestsrvDns]: '127.0.0.1:8053',
};

describe('readRuntimeConfig', () => {
  it('reads a complete environment, with documented defaults for the rest', () => {
    expect(readRuntimeConfig(valid)).toMatchObject({
      tableName: 'certloop-records',
      defaultIssuer: 'default',
      allowedSuffixes: ['example.test', 'example.org'],
      maxNames: 100,
      leaseMs: 900_000,
      batchSize: 50,
      concurrency: 10,
    });
  });

  it.each<[string, Record<string, string | undefined>, string, RegExp]>([
    ['a missing table name', { [ENV.tableName]: undefined }, ENV.tableName, /is not set/],
    [
      'a table name DynamoDB refuses',
      { [ENV.tableName]: 'ab' },
      ENV.tableName,
      /not a valid DynamoDB table name/,
    ],
    ['missing issuers', { [ENV.issuers]: '' }, ENV.issuers, /is not set/],
    ['issuers that are not JSON', { [ENV.issuers]: '{default:' }, ENV.issuers, /not valid JSON/],
    [
      'an issuer without a directory URL',
      { [ENV.issuers]: '{"default":{}}' },
      ENV.issuers,
      /default\.directoryUrl/,
    ],
    [
      'an issuer whose URL is not http(s)',
      { [ENV.issuers]: '{"default":{"directoryUrl":"ftp://x/dir"}}' },
      ENV.issuers,
      /directoryUrl/,
    ],
    ['an empty issuer map', { [ENV.issuers]: '{}' }, ENV.issuers, /no issuer/],
    [
      'a default issuer that is not configured',
      { [ENV.defaultIssuer]: 'prod' },
      ENV.defaultIssuer,
      /"prod" is not one of/,
    ],
    ['missing allowed suffixes', { [ENV.allowedSuffixes]: ' ' }, ENV.allowedSuffixes, /is not set/],
    [
      'a single-label suffix',
      { [ENV.allowedSuffixes]: 'com' },
      ENV.allowedSuffixes,
      /at least two labels/,
    ],
    [
      'a lease that is not a number',
      { [ENV.leaseSeconds]: '10m' },
      ENV.leaseSeconds,
      /not a whole number between 60 and 86400/,
    ],
    ['a batch size of zero', { [ENV.batchSize]: '0' }, ENV.batchSize, /between 1 and 500/],
    [
      'a challtestsrv DNS address without a port',
      { [ENV.challtestsrvDns]: '127.0.0.1' },
      ENV.challtestsrvDns,
      /host:port/,
    ],
  ])('refuses %s, naming the variable', (_sentence, change, variable, message) => {
    const env = { ...valid, ...change };
    let thrown: unknown;
    try {
      readRuntimeConfig(env);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).variable).toBe(variable);
    expect((thrown as ConfigError).message).toMatch(message);
    expect((thrown as ConfigError).message.startsWith(variable)).toBe(true);
  });
});
