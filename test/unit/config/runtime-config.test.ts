import { describe, expect, it } from 'vitest';
import { ENV } from '../../../src/config/environment.js';
import {
  ConfigError,
  readPlannerConfig,
  readRuntimeConfig,
} from '../../../src/config/runtime-config.js';

// Local adapters: a directory store and challtestsrv.
const valid: Record<string, string | undefined> = {
  [ENV.tableName]: 'certloop-records',
  [ENV.issuers]: JSON.stringify({ default: { directoryUrl: 'https://127.0.0.1:14000/dir' } }),
  [ENV.allowedSuffixes]: 'example.test, example.org',
  [ENV.secretStore]: 'directory',
  [ENV.secretStoreDir]: '/var/lib/certloop',
  [ENV.dns]: 'challtestsrv',
  [ENV.challtestsrvUrl]: 'http://127.0.0.1:8055',
  [ENV.challtestsrvDns]: '127.0.0.1:8053',
};

// AWS adapters: Secrets Manager and Route 53 are the defaults.
const onAws: Record<string, string | undefined> = {
  [ENV.tableName]: 'certloop-records',
  [ENV.issuers]: JSON.stringify({
    default: { directoryUrl: 'https://acme.example/dir', contactEmail: 'ops@example.com' },
  }),
  [ENV.hostedZones]: JSON.stringify([
    { hostedZoneId: 'Z0123456789ABC', domain: 'example.com' },
    {
      hostedZoneId: '/hostedzone/ZTEAM0000000001',
      domain: 'team.example.com',
      roleArn: 'arn:aws:iam::123456789012:role/dns',
    },
  ]),
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

  it('defaults to Secrets Manager and Route 53, and to the hosted zones as allowed suffixes', () => {
    expect(readRuntimeConfig(onAws)).toMatchObject({
      secretStore: { kind: 'secrets-manager', accountKeyPrefix: 'certloop/acme-account/' },
      dns: {
        kind: 'route53',
        zones: [
          { hostedZoneId: 'Z0123456789ABC', domain: 'example.com' },
          {
            hostedZoneId: 'ZTEAM0000000001',
            domain: 'team.example.com',
            roleArn: 'arn:aws:iam::123456789012:role/dns',
          },
        ],
      },
      allowedSuffixes: ['example.com', 'team.example.com'],
    });
  });

  it('reads the planner configuration alone: table and queue', () => {
    expect(
      readPlannerConfig({
        [ENV.tableName]: 'certloop-records',
        [ENV.queueUrl]: 'https://sqs.us-east-1.amazonaws.com/123456789012/work',
      }),
    ).toEqual({
      tableName: 'certloop-records',
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/work',
      maxRecordsPerTick: 500,
    });
  });

  it("gives the planner's issuer rotation the identity of every issuer: directory URL, and the EAB key id", () => {
    const config = readPlannerConfig({
      [ENV.tableName]: 'certloop-records',
      [ENV.queueUrl]: 'https://sqs.us-east-1.amazonaws.com/123456789012/work',
      [ENV.defaultIssuer]: 'default',
      [ENV.issuers]: JSON.stringify({
        default: { directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory' },
        zerossl: {
          directoryUrl: 'https://acme.zerossl.com/v2/DV90',
          eab: {
            keyId: 'kid-7',
            hmacKeySecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:eab',
          },
        },
      }),
    });
    expect(config.issuerRotation).toEqual({
      target: 'default',
      batch: 30,
      identities: {
        default: 'https://acme-v02.api.letsencrypt.org/directory',
        zerossl: 'https://acme.zerossl.com/v2/DV90 kid=kid-7',
      },
    });
  });

  it('imports into ACM only when CERTLOOP_ACM_IMPORT is true, and only with Secrets Manager', () => {
    expect(readRuntimeConfig(onAws).acmImport).toBe(false);
    expect(readRuntimeConfig({ ...onAws, [ENV.acmImport]: 'false' }).acmImport).toBe(false);
    expect(readRuntimeConfig({ ...onAws, [ENV.acmImport]: ' true ' }).acmImport).toBe(true);
    expect(() => readRuntimeConfig({ ...onAws, [ENV.acmImport]: 'yes' })).toThrow(
      /^CERTLOOP_ACM_IMPORT: "yes" is not true or false$/,
    );
    expect(() => readRuntimeConfig({ ...valid, [ENV.acmImport]: 'true' })).toThrow(
      /^CERTLOOP_ACM_IMPORT: ACM import needs the secrets-manager store \(CERTLOOP_SECRET_STORE is "directory"\)$/,
    );
  });

  it.each<[string, Record<string, string | undefined>, string, RegExp]>([
    [
      'an issuer name with capitals',
      {
        ...onAws,
        [ENV.issuers]: '{"LetsEncrypt":{"directoryUrl":"https://acme.example.test/dir"}}',
      },
      ENV.issuers,
      /LetsEncrypt: issuer names are lower-case letters, digits and -/,
    ],
    [
      'a trusted CA file that cannot be read',
      {
        ...onAws,
        [ENV.issuers]:
          '{"default":{"directoryUrl":"https://acme.example.test/dir","trustedCaFile":"/nonexistent/ca.pem"}}',
      },
      ENV.issuers,
      /default\.trustedCaFile: \/nonexistent\/ca\.pem cannot be read \(ENOENT\)/,
    ],
    [
      'an unknown log level',
      { ...onAws, [ENV.logLevel]: 'verbose' },
      ENV.logLevel,
      /"verbose" is not one of DEBUG, INFO, WARN, ERROR/,
    ],
    [
      'hosted zones missing on Route 53',
      { ...onAws, [ENV.hostedZones]: undefined },
      ENV.hostedZones,
      /is not set/,
    ],
    [
      'hosted zones that are not a list',
      { ...onAws, [ENV.hostedZones]: '{"id":"Z1"}' },
      ENV.hostedZones,
      /expected array/,
    ],
    [
      'a hosted zone with a malformed id',
      { ...onAws, [ENV.hostedZones]: '[{"hostedZoneId":"zone one","domain":"example.com"}]' },
      ENV.hostedZones,
      /0\.hostedZoneId/,
    ],
    [
      'a zone role that is not a role ARN',
      {
        ...onAws,
        [ENV.hostedZones]: '[{"hostedZoneId":"Z1","domain":"example.com","roleArn":"admin"}]',
      },
      ENV.hostedZones,
      /roleArn/,
    ],
    [
      'an unknown secret store',
      { ...onAws, [ENV.secretStore]: 's3' },
      ENV.secretStore,
      /not one of secrets-manager, directory/,
    ],
    [
      'a directory store without a directory',
      { ...onAws, [ENV.secretStore]: 'directory' },
      ENV.secretStoreDir,
      /is not set/,
    ],
    [
      'an unknown DNS provider',
      { ...onAws, [ENV.dns]: 'cloudflare' },
      ENV.dns,
      /not one of route53, challtestsrv/,
    ],
    [
      'an account key prefix a secret name cannot hold',
      { ...onAws, [ENV.accountKeyPrefix]: 'certloop acme' },
      ENV.accountKeyPrefix,
      /characters a secret name cannot/,
    ],
    [
      'an issuer contact that is not an e-mail address',
      {
        ...onAws,
        [ENV.issuers]: '{"default":{"directoryUrl":"https://a/dir","contactEmail":"ops"}}',
      },
      ENV.issuers,
      /contactEmail/,
    ],
  ])('refuses %s on AWS, naming the variable', (_sentence, env, variable, message) => {
    expect(() => readRuntimeConfig(env)).toThrow(ConfigError);
    expect(() => readRuntimeConfig(env)).toThrow(new RegExp(`^${variable}: `));
    expect(() => readRuntimeConfig(env)).toThrow(message);
  });

  it.each<[string, Record<string, string | undefined>, string]>([
    ['no queue URL', { [ENV.tableName]: 'certloop-records' }, ENV.queueUrl],
    [
      'a queue URL that is not a URL',
      { [ENV.tableName]: 'certloop-records', [ENV.queueUrl]: 'work-queue' },
      ENV.queueUrl,
    ],
    ['no table', { [ENV.queueUrl]: 'https://sqs.us-east-1.amazonaws.com/1/work' }, ENV.tableName],
  ])('refuses a planner with %s, naming the variable', (_sentence, env, variable) => {
    expect(() => readPlannerConfig(env)).toThrow(new RegExp(`^${variable}: `));
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
