import { describe, expect, it } from 'vitest';
import { ENV } from '../../../src/config/environment.js';
import { IssuerListError, readIssuerList } from '../../../src/config/issuer-list.js';
import { ConfigError, readIssuers } from '../../../src/config/runtime-config.js';

const LE = 'https://acme-v02.api.letsencrypt.org/directory';
const ZEROSSL = 'https://acme.zerossl.com/v2/DV90';
const HMAC_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:certloop/zerossl-hmac-AbCdEf';

/** What the functions say at cold start for this CERTLOOP_ISSUERS record. */
function coldStartMessage(record: unknown): string {
  try {
    readIssuers({ [ENV.issuers]: JSON.stringify(record) });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('readIssuers accepted it');
}

describe('readIssuerList', () => {
  it('turns the list into the CERTLOOP_ISSUERS record and the issuer marked default', () => {
    expect(
      readIssuerList([
        { name: 'le', directoryUrl: LE, contactEmail: 'pki@example.com' },
        {
          name: 'zerossl',
          directoryUrl: ZEROSSL,
          eab: { keyId: 'kid-1', hmacKeySecretArn: HMAC_ARN },
          profile: 'tlsserver',
          ariRenewalsExempt: false,
          default: true,
        },
      ]),
    ).toEqual({
      issuers: {
        le: { directoryUrl: LE, contactEmail: 'pki@example.com' },
        zerossl: {
          directoryUrl: ZEROSSL,
          eab: { keyId: 'kid-1', hmacKeySecretArn: HMAC_ARN },
          profile: 'tlsserver',
          ariRenewalsExempt: false,
        },
      },
      defaultIssuer: 'zerossl',
    });
  });

  it.each([
    ['the only issuer', [{ name: 'le', directoryUrl: LE }], 'le'],
    [
      'the one named default',
      [
        { name: 'staging', directoryUrl: LE },
        { name: 'default', directoryUrl: ZEROSSL },
      ],
      'default',
    ],
  ])('without a default flag, the default is %s', (_, list, expected) => {
    expect(readIssuerList(list).defaultIssuer).toBe(expected);
  });

  it.each([
    ['not a list', { le: { directoryUrl: LE } }, /must be a JSON list of issuers/],
    ['an empty list', [], /names no issuer/],
    [
      'an entry without a name',
      [{ directoryUrl: LE }],
      /entry 0\.name: every issuer needs a "name"/,
    ],
    [
      'a default flag that is not a boolean',
      [{ name: 'le', directoryUrl: LE, default: 'yes' }],
      /entry 0\.default: must be true or false/,
    ],
    [
      'a name given twice',
      [
        { name: 'le', directoryUrl: LE },
        { name: 'le', directoryUrl: ZEROSSL },
      ],
      /^issuer "le" is listed twice$/,
    ],
    [
      'two defaults',
      [
        { name: 'le', directoryUrl: LE, default: true },
        { name: 'zerossl', directoryUrl: ZEROSSL, default: true },
      ],
      /more than one issuer is marked "default": true \(le, zerossl\)/,
    ],
    [
      'several issuers, none marked default and none named default',
      [
        { name: 'le', directoryUrl: LE },
        { name: 'zerossl', directoryUrl: ZEROSSL },
      ],
      /mark the issuer of secrets that name none with "default": true \(le, zerossl\)/,
    ],
  ])('refuses %s (a list-only problem)', (_, list, message) => {
    expect(() => readIssuerList(list)).toThrow(IssuerListError);
    expect(() => readIssuerList(list)).toThrow(message);
  });

  it.each([
    ['an http directory', { directoryUrl: 'http://acme.example/directory' }],
    ['an unknown field', { directoryUrl: LE, contact: 'pki@example.com' }],
    ['an EAB without its key', { directoryUrl: ZEROSSL, eab: { keyId: 'kid-1' } }],
    [
      'an EAB key that is no secret ARN',
      { directoryUrl: ZEROSSL, eab: { keyId: 'k', hmacKeySecretArn: 'zerossl-hmac' } },
    ],
    ['a profile name with spaces', { directoryUrl: LE, profile: 'short lived' }],
  ])('refuses %s with the message the functions give at cold start', (_, issuer) => {
    const expected = coldStartMessage({ le: issuer });
    expect(expected).toMatch(/^CERTLOOP_ISSUERS: le/);
    expect(() => readIssuerList([{ name: 'le', ...issuer }])).toThrow(ConfigError);
    expect(() => readIssuerList([{ name: 'le', ...issuer }])).toThrow(expected);
  });

  it('refuses an issuer name the functions refuse, with their message', () => {
    const expected = coldStartMessage({ LE: { directoryUrl: LE } });
    expect(() => readIssuerList([{ name: 'LE', directoryUrl: LE }])).toThrow(expected);
  });

  it.each([
    [
      'an HMAC key file (the functions accept it in local mode)',
      { directoryUrl: ZEROSSL, eab: { keyId: 'kid-1', hmacKeyFile: '/etc/certloop/zerossl.hmac' } },
      'CERTLOOP_ISSUERS: le.eab.hmacKeyFile: local mode only',
    ],
    [
      'a CA file to trust (a local pebble)',
      { directoryUrl: LE, trustedCaFile: '/etc/certloop/pebble.pem' },
      'CERTLOOP_ISSUERS: le.trustedCaFile: local mode only',
    ],
  ])('refuses %s: deployments only', (_, issuer, message) => {
    expect(() => readIssuerList([{ name: 'le', ...issuer }])).toThrow(message);
  });
});
