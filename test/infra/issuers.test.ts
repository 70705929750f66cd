import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertLoop, type CertLoopIssuer, hmacKeySecretResource } from '../../infra/index.js';
import { ENV } from '../../src/config/environment.js';
import { readIssuerList } from '../../src/config/issuer-list.js';
import { readIssuers, readRuntimeConfig } from '../../src/config/runtime-config.js';
import {
  buildCertLoopApp,
  SKIP_BUNDLING,
  TEST_HMAC_SECRET_ARN,
  TEST_ISSUERS,
  TEST_ZONE,
} from './fixtures/certloop-app.js';
import { TemplateQueries } from './fixtures/template-queries.js';

type Built = ReturnType<typeof buildCertLoopApp>;

const LE = 'https://acme-v02.api.letsencrypt.org/directory';
const ZEROSSL = 'https://acme.zerossl.com/v2/DV90';
const zones = JSON.stringify([TEST_ZONE]);

/** The CERTLOOP_ISSUERS record the functions should be given for TEST_ISSUERS. */
const EXPECTED_ISSUERS = {
  le: { directoryUrl: LE, contactEmail: 'pki@example.com' },
  zerossl: {
    directoryUrl: ZEROSSL,
    contactEmail: 'pki@example.com',
    eab: { keyId: 'zerossl-kid-0123', hmacKeySecretArn: TEST_HMAC_SECRET_ARN },
    profile: 'tlsserver',
  },
};

/** What a function says at cold start about this CERTLOOP_ISSUERS record. */
function coldStart(record: unknown): string {
  try {
    readIssuers({ [ENV.issuers]: JSON.stringify(record) });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the functions accept it');
}

/** What the shared list reader says about this list. */
function listProblem(list: unknown): string {
  try {
    readIssuerList(list);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the list reader accepts it');
}

function queries(stack: Stack): TemplateQueries {
  return new TemplateQueries(stack, Template.fromStack(stack).toJSON());
}

/** Every GetSecretValue resource of the function's role, flattened. */
function secretReads(q: TemplateQueries, fn: Built['stack']['certloop']['worker']): unknown[] {
  return q
    .statements(fn)
    .filter((s) =>
      (Array.isArray(s.Action) ? s.Action : [s.Action]).includes('secretsmanager:GetSecretValue'),
    )
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
}

describe("issuers from the `issuers` context key (-c issuers='[...]')", () => {
  let built: Built;
  let q: TemplateQueries;

  beforeAll(() => {
    built = buildCertLoopApp(
      { hostedZones: zones, issuers: JSON.stringify(TEST_ISSUERS) },
      { bundle: false },
    );
    q = queries(built.stack);
  });

  it.each(['planner', 'worker', 'sweep', 'renew'] as const)(
    'the %s gets the checked issuers and the issuer marked default',
    (name) => {
      const environment = q.environment(built.stack.certloop[name]);
      expect(JSON.parse(environment[ENV.issuers] as string)).toEqual(EXPECTED_ISSUERS);
      expect(environment[ENV.defaultIssuer]).toBe('le');
    },
  );

  it('gives the worker a configuration its own reader accepts, EAB and profile included', () => {
    const environment = q.environment(built.stack.certloop.worker);
    const config = readRuntimeConfig({
      ...(environment as Record<string, string>),
      [ENV.tableName]: 'certloop-records',
    });
    expect(config.defaultIssuer).toBe('le');
    expect(config.issuers.zerossl?.eab).toEqual({
      keyId: 'zerossl-kid-0123',
      hmacKeySecretArn: TEST_HMAC_SECRET_ARN,
    });
    expect(config.issuers.zerossl?.profile).toBe('tlsserver');
  });

  it('lets the worker read exactly the named EAB secret, in a statement of its own', () => {
    expect(q.statements(built.stack.certloop.worker)).toContainEqual({
      Sid: 'ReadEabHmacKeys',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: TEST_HMAC_SECRET_ARN,
    });
    // Its other secret reads are the tag-conditioned certificates and the account keys.
    const reads = secretReads(q, built.stack.certloop.worker).map((r) => JSON.stringify(r));
    expect(reads.filter((r) => r.includes('zerossl'))).toEqual([
      JSON.stringify(TEST_HMAC_SECRET_ARN),
    ]);
  });

  it.each(['planner', 'sweep', 'renew'] as const)(
    'does not let the %s read the EAB secret (it creates no ACME account)',
    (name) => {
      const fn = built.stack.certloop[name];
      expect(JSON.stringify(q.statements(fn))).not.toContain(TEST_HMAC_SECRET_ARN);
    },
  );

  it('accepts the list typed, as cdk.json gives it', () => {
    const typed = buildCertLoopApp(
      { hostedZones: zones, issuers: TEST_ISSUERS },
      { bundle: false },
    );
    const tq = queries(typed.stack);
    expect(tq.environment(typed.stack.certloop.worker)).toEqual(
      q.environment(built.stack.certloop.worker),
    );
  });

  it('needs no default flag for a single issuer', () => {
    const [, zerossl] = TEST_ISSUERS;
    const single = buildCertLoopApp(
      { hostedZones: zones, issuers: JSON.stringify([zerossl]) },
      { bundle: false },
    );
    const environment = queries(single.stack).environment(single.stack.certloop.worker);
    expect(environment[ENV.defaultIssuer]).toBe('zerossl');
  });
});

describe('the EAB secret ARN in IAM', () => {
  it.each([
    [TEST_HMAC_SECRET_ARN, TEST_HMAC_SECRET_ARN],
    [
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:certloop/gts-hmac',
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:certloop/gts-hmac-??????',
    ],
  ])('%s is granted as %s', (given, granted) => {
    expect(hmacKeySecretResource(given)).toBe(granted);
  });

  it('grants one ARN without its random suffix as the name plus exactly six characters', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:certloop/gts-hmac';
    const { stack } = buildCertLoopApp(
      {
        hostedZones: zones,
        issuers: JSON.stringify([
          {
            name: 'gts',
            directoryUrl: 'https://dv.acme-v02.api.pki.goog/directory',
            eab: { keyId: 'gts-kid', hmacKeySecretArn: arn },
          },
        ]),
      },
      { bundle: false },
    );
    expect(queries(stack).statements(stack.certloop.worker)).toContainEqual({
      Sid: 'ReadEabHmacKeys',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: `${arn}-??????`,
    });
  });

  it('grants no EAB read at all without an EAB issuer (the shorthand)', () => {
    const { stack } = buildCertLoopApp({ hostedZones: zones }, { bundle: false });
    const sids = queries(stack)
      .statements(stack.certloop.worker)
      .map((s) => s.Sid);
    expect(sids).not.toContain('ReadEabHmacKeys');
  });
});

describe('a bad issuer configuration fails synth, nothing written', () => {
  const [le, zerossl] = TEST_ISSUERS as unknown as [
    Record<string, unknown>,
    Record<string, unknown>,
  ];
  const { default: _, ...leWithoutDefault } = le;

  it.each([
    ['a malformed list', '[{"name":"le",', 'is not valid JSON'],
    ['an object instead of a list', '{"le":{}}', listProblem({ le: {} })],
    [
      'a duplicate name',
      [le, { ...zerossl, name: 'le' }],
      listProblem([le, { ...zerossl, name: 'le' }]),
    ],
    [
      'two defaults',
      [le, { ...zerossl, default: true }],
      listProblem([le, { ...zerossl, default: true }]),
    ],
    [
      'several issuers and none marked default',
      [leWithoutDefault, zerossl],
      listProblem([leWithoutDefault, zerossl]),
    ],
    [
      'an http directory URL',
      [le, { ...zerossl, directoryUrl: 'http://acme.zerossl.com/v2/DV90' }],
      coldStart({ zerossl: { directoryUrl: 'http://acme.zerossl.com/v2/DV90' } }),
    ],
    [
      'an unknown field',
      [{ ...le, contact: 'pki@example.com' }],
      coldStart({ le: { directoryUrl: LE, contact: 'pki@example.com' } }),
    ],
    [
      'an EAB key id without its HMAC key',
      [le, { ...zerossl, eab: { keyId: 'zerossl-kid-0123' } }],
      coldStart({ zerossl: { directoryUrl: ZEROSSL, eab: { keyId: 'zerossl-kid-0123' } } }),
    ],
    [
      'an HMAC key file (local mode only)',
      [le, { ...zerossl, eab: { keyId: 'zerossl-kid-0123', hmacKeyFile: '/etc/zerossl.hmac' } }],
      'CERTLOOP_ISSUERS: zerossl.eab.hmacKeyFile: local mode only',
    ],
  ])('%s, with the message of the functions or of the list reader', (_, issuers, message) => {
    const value = typeof issuers === 'string' ? issuers : JSON.stringify(issuers);
    const outdir = mkdtempSync(join(tmpdir(), 'certloop-issuers-'));
    try {
      expect(() =>
        buildCertLoopApp({ hostedZones: zones, issuers: value }, { bundle: false, outdir }),
      ).toThrow(`CDK context "issuers": ${message}`);
      expect(readdirSync(outdir)).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ acmeDirectoryUrl: LE }, '"acmeDirectoryUrl"'],
    [{ contactEmail: 'pki@example.com' }, '"contactEmail"'],
    [
      { acmeDirectoryUrl: LE, contactEmail: 'pki@example.com' },
      '"acmeDirectoryUrl" and "contactEmail"',
    ],
  ])(
    'refuses issuers together with the one-issuer shorthand %j, naming both keys',
    (shorthand, named) => {
      expect(() =>
        buildCertLoopApp(
          { hostedZones: zones, issuers: JSON.stringify(TEST_ISSUERS), ...shorthand },
          { bundle: false },
        ),
      ).toThrow(`CDK context "issuers": cannot be combined with the one-issuer shorthand ${named}`);
    },
  );

  it('keeps the shorthand: -c acmeDirectoryUrl with -c contactEmail is the issuer `default`', () => {
    const { stack } = buildCertLoopApp(
      { hostedZones: zones, acmeDirectoryUrl: LE, contactEmail: 'pki@example.com' },
      { bundle: false },
    );
    const environment = queries(stack).environment(stack.certloop.worker);
    expect(JSON.parse(environment[ENV.issuers] as string)).toEqual({
      default: { directoryUrl: LE, contactEmail: 'pki@example.com' },
    });
    expect(environment[ENV.defaultIssuer]).toBeUndefined();
  });
});

describe('CertLoop issuer props (embedding)', () => {
  function build(issuers: Record<string, CertLoopIssuer>, defaultIssuer?: string) {
    const app = new App({ context: SKIP_BUNDLING });
    const stack = new Stack(app, 'Embedding');
    const certloop = new CertLoop(stack, 'CertLoop', {
      issuers,
      ...(defaultIssuer !== undefined ? { defaultIssuer } : {}),
      hostedZones: [TEST_ZONE],
    });
    return { stack, certloop };
  }
  const both = {
    le: { directoryUrl: LE },
    zerossl: {
      directoryUrl: ZEROSSL,
      eab: { keyId: 'zerossl-kid-0123', hmacKeySecretArn: TEST_HMAC_SECRET_ARN },
      profile: 'tlsserver',
    },
  };

  it('take EAB and a default profile, and grant the worker exactly the EAB secret', () => {
    const { stack, certloop } = build(both, 'zerossl');
    const q = queries(stack);
    expect(JSON.parse(q.environment(certloop.worker)[ENV.issuers] as string)).toEqual(both);
    expect(q.statements(certloop.worker)).toContainEqual({
      Sid: 'ReadEabHmacKeys',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: TEST_HMAC_SECRET_ARN,
    });
  });

  it('refuse a default issuer that names none, with the cold-start message', () => {
    let expected = '';
    try {
      readRuntimeConfig({
        [ENV.tableName]: 'certloop-records',
        [ENV.issuers]: JSON.stringify(both),
        [ENV.defaultIssuer]: 'production',
        [ENV.hostedZones]: JSON.stringify([TEST_ZONE]),
      });
    } catch (error) {
      expected = (error as Error).message;
    }
    expect(expected).toBe(
      'CERTLOOP_DEFAULT_ISSUER: "production" is not one of the configured issuers (le, zerossl)',
    );
    expect(() => build(both, 'production')).toThrow(`CertLoop: ${expected}`);
  });

  it('refuse an http directory URL with the cold-start message', () => {
    const issuers = { le: { directoryUrl: 'http://acme-v02.api.letsencrypt.org/directory' } };
    expect(() => build(issuers)).toThrow(`CertLoop: ${coldStart(issuers)}`);
  });

  it('refuse an HMAC key file from an untyped caller (local mode only)', () => {
    const issuers = {
      zerossl: { directoryUrl: ZEROSSL, eab: { keyId: 'kid', hmacKeyFile: '/etc/zerossl.hmac' } },
    } as unknown as Record<string, CertLoopIssuer>;
    expect(() => build(issuers)).toThrow(
      'CertLoop: CERTLOOP_ISSUERS: zerossl.eab.hmacKeyFile: local mode only',
    );
  });

  it('grant a secret created in the same stack by its ARN (a token), exactly that secret', () => {
    const app = new App({ context: SKIP_BUNDLING });
    const stack = new Stack(app, 'Embedding');
    const secret = new secretsmanager.Secret(stack, 'ZeroSslHmac');
    const certloop = new CertLoop(stack, 'CertLoop', {
      issuers: {
        zerossl: {
          directoryUrl: ZEROSSL,
          eab: { keyId: 'kid', hmacKeySecretArn: secret.secretArn },
        },
      },
      hostedZones: [TEST_ZONE],
    });
    const q = queries(stack);
    const secretRef = { Ref: q.logicalId(secret) };
    expect(q.statements(certloop.worker)).toContainEqual({
      Sid: 'ReadEabHmacKeys',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: secretRef,
    });
    expect(JSON.stringify(q.environment(certloop.worker)[ENV.issuers])).toContain(
      JSON.stringify(secretRef),
    );
  });
});
