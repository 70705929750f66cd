import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AcmeClientCa, type AcmeClientCaOptions } from '../../src/adapters/acme/acme-client-ca.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import { CertloopError } from '../../src/core/errors.js';
import type { KeyMaterial } from '../../src/core/key-material.js';
import type { KeyType } from '../../src/core/key-type.js';
import type { AcmeCa, Dns01Challenge } from '../../src/ports/acme-ca.js';
import type { KeyFactory } from '../../src/ports/key-factory.js';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { KEY_MATERIAL_PATTERNS, keyFingerprints } from '../support/key-material-patterns.js';
import { uniqueLabel, usePebble } from '../support/pebble.js';
import { RecordingLogger } from '../support/test-loggers.js';

const FAST_POLLING = { attempts: 40, minDelayMs: 50, maxDelayMs: 250 };

function splitPem(chain: string): X509Certificate[] {
  const blocks = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

/** The leaf and its issuer from a full chain PEM (pebble sends exactly these two). */
function leafAndIssuer(chain: string): { leaf: X509Certificate; issuer: X509Certificate } {
  const [leaf, issuer, ...rest] = splitPem(chain);
  if (!leaf || !issuer || rest.length > 0) {
    throw new Error(
      `expected a leaf and one intermediate, got ${splitPem(chain).length} certificates`,
    );
  }
  return { leaf, issuer };
}

function sans(certificate: X509Certificate): string[] {
  return (certificate.subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^DNS:/, ''))
    .sort();
}

async function rejection(promise: Promise<unknown>): Promise<CertloopError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(CertloopError);
  return error as CertloopError;
}

/** Key material must not show up in an error's message, nor anywhere in its inspection. */
function expectNoKeyMaterial(error: unknown, keys: KeyMaterial[]): void {
  const texts = [
    error instanceof Error ? error.message : String(error),
    inspect(error, { depth: 8 }),
  ];
  const fingerprints = keys.flatMap((key) => keyFingerprints(key.reveal()));
  for (const text of texts) {
    for (const pattern of KEY_MATERIAL_PATTERNS) expect(text).not.toMatch(pattern);
    for (const fragment of fingerprints) expect(text).not.toContain(fragment);
  }
}

class CountingKeyFactory implements KeyFactory {
  readonly generated: KeyType[] = [];
  readonly #inner = new NodeKeyFactory();

  generate(keyType: KeyType): Promise<KeyMaterial> {
    this.generated.push(keyType);
    return this.#inner.generate(keyType);
  }

  createCsr(key: KeyMaterial, domains: string[]): Promise<string> {
    return this.#inner.createCsr(key, domains);
  }

  warmUp(): Promise<void> {
    return this.#inner.warmUp();
  }
}

/** One single-name order on `ca`, from placing it to the download (DNS-01 on challtestsrv). */
async function issueSingle(
  ca: AcmeCa,
  dns: { challtestsrvUrl: string; dnsServer: string },
  label: string,
) {
  const solver = new ChalltestsrvDns01Solver({
    managementUrl: dns.challtestsrvUrl,
    dnsServer: dns.dnsServer,
  });
  const keys = new NodeKeyFactory();
  const domains = [`${uniqueLabel(label)}.certloop.test`];
  const placed = await ca.placeOrder({ domains });
  const challenges = await ca.pendingDns01Challenges(placed.url);
  const records = challenges.map((c) => ({ name: c.recordName, value: c.recordValue }));
  await solver.present(records);
  await solver.waitForPropagation(records);
  await ca.answerChallenges(challenges);
  const csr = await keys.createCsr(await keys.generate('ec-p256'), domains);
  const finalized = await ca.finalize(placed.url, csr);
  return { placed, domains, finalized, fullchain: await ca.downloadCertificate(placed.url) };
}

describe('AcmeClientCa against pebble', () => {
  const pebble = usePebble();
  const keys = new NodeKeyFactory();
  let secrets: MemorySecretStore;
  let ca: AcmeClientCa;
  let solver: ChalltestsrvDns01Solver;
  /** Every error the tests provoke, checked for key material at the end. */
  const errors: unknown[] = [];
  /** Every key the tests used (account and certificate keys). */
  const usedKeys: KeyMaterial[] = [];
  const logger = new RecordingLogger();

  function newCa(overrides: Partial<AcmeClientCaOptions> = {}): AcmeClientCa {
    const { directoryUrl, listenerCaPem } = pebble();
    return new AcmeClientCa({
      directoryUrl,
      secrets,
      keys: new NodeKeyFactory(),
      trustedCaPem: listenerCaPem,
      contactEmail: 'ops@certloop.test',
      polling: FAST_POLLING,
      logger,
      ...overrides,
    });
  }

  beforeAll(() => {
    secrets = new MemorySecretStore();
    ca = newCa();
    const { challtestsrvUrl, dnsServer } = pebble();
    solver = new ChalltestsrvDns01Solver({ managementUrl: challtestsrvUrl, dnsServer });
  });

  async function solve(challenges: Dns01Challenge[]): Promise<void> {
    const records = challenges.map((challenge) => ({
      name: challenge.recordName,
      value: challenge.recordValue,
    }));
    await solver.present(records);
    await solver.waitForPropagation(records);
    try {
      await ca.answerChallenges(challenges);
    } finally {
      await solver.cleanup(records);
    }
  }

  async function issue(domains: string[], keyType: KeyType, target: AcmeCa = ca) {
    const placed = await target.placeOrder({ domains });
    expect(placed.status).toBe('pending');
    expect(placed.domains).toEqual([...domains].sort());
    const challenges = await target.pendingDns01Challenges(placed.url);
    expect(challenges.map((challenge) => challenge.identifier).sort()).toEqual([...domains].sort());
    await solve(challenges);
    expect((await target.getOrder(placed.url)).status).toBe('ready');
    const key = await keys.generate(keyType);
    usedKeys.push(key);
    const finalized = await target.finalize(placed.url, await keys.createCsr(key, domains));
    expect(finalized.status).toBe('valid');
    const fullchain = await target.downloadCertificate(placed.url);
    return { placed, challenges, key, fullchain };
  }

  it('issues a certificate for an apex and its wildcard with an EC key', async () => {
    const apex = `${uniqueLabel('apex')}.certloop.test`;
    const domains = [apex, `*.${apex}`];
    const { challenges, key, fullchain } = await issue(domains, 'ec-p256');

    // Apex and wildcard share one TXT name with two different values.
    expect(new Set(challenges.map((challenge) => challenge.recordName))).toEqual(
      new Set([`_acme-challenge.${apex}`]),
    );
    expect(new Set(challenges.map((challenge) => challenge.recordValue)).size).toBe(2);

    const { leaf, issuer } = leafAndIssuer(fullchain);
    expect(sans(leaf)).toEqual([...domains].sort());
    expect(leaf.checkPrivateKey(createPrivateKey(key.reveal()))).toBe(true);
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    // The chain is the leaf and its issuer, which pebble's root signed.
    expect(leaf.checkIssued(issuer)).toBe(true);
    expect(leaf.verify(issuer.publicKey)).toBe(true);
    const root = new X509Certificate(await pebble().rootCertificatePem());
    expect(issuer.verify(root.publicKey)).toBe(true);
  });

  it('issues a certificate for three names with an RSA-2048 key', async () => {
    const base = `${uniqueLabel('rsa')}.certloop.test`;
    const domains = [`www.${base}`, base, `api.${base}`];
    const { key, fullchain } = await issue(domains, 'rsa-2048');
    const { leaf } = leafAndIssuer(fullchain);
    expect(sans(leaf)).toEqual([...domains].sort());
    expect(leaf.checkPrivateKey(createPrivateKey(key.reveal()))).toBe(true);
    expect(leaf.publicKey.asymmetricKeyType).toBe('rsa');
    expect(leaf.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  });

  it('issues for wildcard-only orders, with a wildcard CN or none when the name exceeds 64 characters', async () => {
    const short = `${uniqueLabel('wild')}.certloop.test`;
    const shortLeaf = leafAndIssuer((await issue([`*.${short}`], 'ec-p256')).fullchain).leaf;
    expect(sans(shortLeaf)).toEqual([`*.${short}`]);

    const long = `${'l'.repeat(50)}.${uniqueLabel('long')}.certloop.test`;
    expect(`*.${long}`.length).toBeGreaterThan(64);
    const longLeaf = leafAndIssuer((await issue([`*.${long}`], 'ec-p256')).fullchain).leaf;
    expect(sans(longLeaf)).toEqual([`*.${long}`]);
  });

  it('resumes: getOrder of a placed order returns the same URL, status, names and expiry', async () => {
    const domains = [`${uniqueLabel('resume')}.certloop.test`];
    const placed = await ca.placeOrder({ domains });
    const read = await ca.getOrder(placed.url);
    expect(read).toEqual(placed);
    expect(read.expiresAt).toBeGreaterThan(Date.now());
    // A fresh instance (a new run after a crash) on the same account reads it too.
    expect(await newCa().getOrder(placed.url)).toEqual(placed);
  });

  it('resumes after finalize: valid orders finalize and download again without new work', async () => {
    const domains = [`${uniqueLabel('again')}.certloop.test`];
    const { placed, key, fullchain } = await issue(domains, 'ec-p384');
    expect(await ca.pendingDns01Challenges(placed.url)).toEqual([]);
    const again = await ca.finalize(placed.url, await keys.createCsr(key, domains));
    expect(again.status).toBe('valid');
    expect(await ca.downloadCertificate(placed.url)).toBe(fullchain);
  });

  it('sends profile and replaces through to newOrder without breaking the order', async () => {
    // pebble 2.4 ignores both fields; the point is that acme-client passes them and the
    // CA still answers with a normal order.
    const domains = [`${uniqueLabel('profile')}.certloop.test`];
    const placed = await ca.placeOrder({ domains, profile: 'shortlived', replaces: 'aaaa.bbbb' });
    expect(placed.status).toBe('pending');
    expect(placed.domains).toEqual(domains);
  });

  it('two instances sharing one secret store use one account: one key generated, same account URL', async () => {
    const shared = new MemorySecretStore();
    const counting = new CountingKeyFactory();
    // Without a contact: pebble refuses an account update that carries nothing to update.
    const first = newCa({ secrets: shared, keys: counting, contactEmail: undefined });
    const second = newCa({ secrets: shared, keys: counting, contactEmail: undefined });
    const [firstUrl, secondUrl] = await Promise.all([first.accountUrl(), second.accountUrl()]);
    expect(firstUrl).toBe(secondUrl);
    // A later run (new instance, account already known to the CA) finds the same account.
    const later = newCa({ secrets: shared, keys: counting, contactEmail: undefined });
    expect(await later.accountUrl()).toBe(firstUrl);
    const laterWithContact = newCa({ secrets: shared, keys: counting });
    expect(await laterWithContact.accountUrl()).toBe(firstUrl);
    expect(counting.generated).toEqual(['ec-p256']);
    const accountKey = await shared.getOrCreateAccountKey(
      { directoryUrl: pebble().directoryUrl },
      () => {
        throw new Error('must not generate again');
      },
    );
    usedKeys.push(accountKey);
    expect(createPrivateKey(accountKey.reveal()).asymmetricKeyDetails?.namedCurve).toBe(
      'prime256v1',
    );
    // The second instance can read the first one's orders: the CA sees one account.
    const placed = await first.placeOrder({ domains: [`${uniqueLabel('shared')}.certloop.test`] });
    expect(await second.getOrder(placed.url)).toEqual(placed);
    // And a different store means a different account.
    const other = newCa({ secrets: new MemorySecretStore() });
    expect(await other.accountUrl()).not.toBe(firstUrl);
  });

  it('fails with a transient error naming each identifier whose challenge was never presented', async () => {
    const apex = `${uniqueLabel('absent')}.certloop.test`;
    const placed = await ca.placeOrder({ domains: [apex, `*.${apex}`] });
    const challenges = await ca.pendingDns01Challenges(placed.url);
    const error = await rejection(ca.answerChallenges(challenges));
    errors.push(error);
    expect(error.kind).toBe('transient');
    expect(error.source).toBe('ca');
    expect(error.message).toContain(`DNS-01 validation of ${apex} failed`);
    expect(error.message).toContain(`DNS-01 validation of *.${apex} failed`);
    expect(error.message).toMatch(/unauthorized/);
    expect((await ca.getOrder(placed.url)).status).toBe('invalid');
    // Finalizing the invalid order says why instead of a bare CA refusal.
    const finalizeError = await rejection(
      ca.finalize(placed.url, await keys.createCsr(await keys.generate('ec-p256'), [apex])),
    );
    errors.push(finalizeError);
    expect(finalizeError.kind).toBe('transient');
    expect(finalizeError.message).toContain('invalid');
  });

  it('maps an order URL the CA does not know to not-found', async () => {
    const placed = await ca.placeOrder({ domains: [`${uniqueLabel('gone')}.certloop.test`] });
    const unknown = `${placed.url}x`;
    for (const attempt of [
      () => ca.getOrder(unknown),
      () => ca.pendingDns01Challenges(unknown),
      () => ca.finalize(unknown, 'not used'),
      () => ca.downloadCertificate(unknown),
    ]) {
      const error = await rejection(attempt());
      errors.push(error);
      expect(error.kind).toBe('not-found');
      expect(error.message).toContain(unknown);
    }
  });

  it('maps a malformed identifier on newOrder to permanent with the CA detail', async () => {
    const error = await rejection(ca.placeOrder({ domains: ['bad_name.certloop.test'] }));
    errors.push(error);
    expect(error.kind).toBe('permanent');
    expect(error.source).toBe('ca');
    expect(error.message).toContain('malformed');
    expect(error.message).toContain("illegal character: '_'");
  });

  it('maps a CSR refusal at finalize to transient with the CA detail', async () => {
    // A CSR whose names differ from the order's: pebble refuses it as `unauthorized`.
    const apex = `${uniqueLabel('csr')}.certloop.test`;
    const placed = await ca.placeOrder({ domains: [apex] });
    await solve(await ca.pendingDns01Challenges(placed.url));
    const key = await keys.generate('ec-p256');
    usedKeys.push(key);
    const error = await rejection(
      ca.finalize(placed.url, await keys.createCsr(key, [`other.${apex}`])),
    );
    errors.push(error);
    expect(error.kind).toBe('transient');
    expect(error.message).toContain(
      `unauthorized (HTTP 403): CSR is missing Order domain "${apex}"`,
    );
  });

  it('puts no key material in any error message or log line (checked last)', async () => {
    // Provoke the failure paths once more, so that this test stands on its own.
    const apex = `${uniqueLabel('leak')}.certloop.test`;
    const placed = await ca.placeOrder({ domains: [apex] });
    errors.push(await rejection(ca.answerChallenges(await ca.pendingDns01Challenges(placed.url))));
    errors.push(await rejection(ca.placeOrder({ domains: ['bad_name.certloop.test'] })));
    errors.push(await rejection(ca.getOrder(`${placed.url}x`)));
    const certificateKey = await keys.generate('rsa-2048');
    usedKeys.push(certificateKey);
    errors.push(
      await rejection(ca.finalize(placed.url, await keys.createCsr(certificateKey, [apex]))),
    );
    usedKeys.push(
      await secrets.getOrCreateAccountKey({ directoryUrl: pebble().directoryUrl }, () => {
        throw new Error('the account key exists by now');
      }),
    );

    for (const error of errors) expectNoKeyMaterial(error, usedKeys);
    expect(logger.lines.length).toBeGreaterThan(0);
    const logText = logger.lines
      .map((line) => `${line.message} ${JSON.stringify(line.fields)}`)
      .join('\n');
    expectNoKeyMaterial(logText, usedKeys);
  });
});

describe('AcmeClientCa with badNonce faults (PEBBLE_WFE_NONCEREJECT=10)', () => {
  // 10 % of nonces rejected: each signed request fails only after 6 rejections in a row
  // (p = 1e-6), and ~115 signed requests all but surely (1 - 0.9^115) meet at least one.
  const pebble = usePebble({ nonceRejectPercent: 10 });

  it('still issues and reads orders: the library retries badNonce by itself', async () => {
    const { directoryUrl, listenerCaPem, challtestsrvUrl, dnsServer } = pebble();
    const logger = new RecordingLogger();
    const ca = new AcmeClientCa({
      directoryUrl,
      secrets: new MemorySecretStore(),
      keys: new NodeKeyFactory(),
      trustedCaPem: listenerCaPem,
      polling: FAST_POLLING,
      logger,
    });
    const { placed, domains, finalized, fullchain } = await issueSingle(
      ca,
      { challtestsrvUrl, dnsServer },
      'nonce',
    );
    expect(finalized.status).toBe('valid');
    expect(sans(leafAndIssuer(fullchain).leaf)).toEqual(domains);
    for (let i = 0; i < 100; i++) expect((await ca.getOrder(placed.url)).status).toBe('valid');
    const badNonces = logger.lines.filter((line) => line.message.startsWith('acme badNonce'));
    expect(badNonces.length).toBeGreaterThan(0);
  });
});

describe('AcmeClientCa request economy, through a counting and fault-injecting proxy', () => {
  const pebble = usePebble();
  let proxy: FaultProxy;

  beforeAll(async () => {
    const { directoryUrl, listenerCaPem } = pebble();
    proxy = await startFaultProxy({
      upstreamDirectoryUrl: directoryUrl,
      upstreamCaPem: listenerCaPem,
    });
  });
  afterAll(async () => {
    await proxy?.stop();
  });

  /** A fresh instance (a cold worker) that reaches pebble through the proxy. */
  function coldCa(): AcmeClientCa {
    return new AcmeClientCa({
      directoryUrl: proxy.directoryUrl,
      secrets: new MemorySecretStore(),
      keys: new NodeKeyFactory(),
      trustedCaPem: proxy.caPem,
      polling: FAST_POLLING,
      // Short, so that the held requests below cost little; long enough for a busy pebble.
      requestTimeoutMs: 2_500,
    });
  }

  const issueThrough = async (ca: AcmeClientCa, label: string): Promise<string> =>
    (await issueSingle(ca, pebble(), label)).fullchain;

  it('asks for one fresh nonce per instance and reuses the Replay-Nonce of each answer', async () => {
    const from = proxy.log.length;
    const fullchain = await issueThrough(coldCa(), 'economy');
    expect(splitPem(fullchain).length).toBe(2);
    const entries = proxy.since(from);
    const signed = entries.filter((e) => e.method === 'POST');
    // New account (and its look-up), order, authorization, challenge, polls, finalize, download.
    expect(signed.length).toBeGreaterThanOrEqual(7);
    expect(entries.filter((e) => e.step === 'newNonce')).toHaveLength(1);
    expect(entries.filter((e) => (e.status ?? 0) >= 400 && e.step !== 'newAccount')).toEqual([]);
  });

  it.each([
    ['lostResponse', 'authz'],
    ['timeout', 'orderPoll'],
    ['timeout', 'newNonce'],
  ] as const)(
    'sends a safe request once more at once when a %s hides its answer (%s)',
    async (type, step) => {
      const ca = coldCa();
      const from = proxy.log.length;
      proxy.inject({ step, fault: { type }, times: 1 });
      const fullchain = await issueThrough(ca, `again-${step.toLowerCase()}`);
      expect(splitPem(fullchain).length).toBe(2);
      expect(proxy.pendingRules()).toBe(0);
      const ofStep = proxy.since(from).filter((e) => e.step === step);
      expect(ofStep[0]).toMatchObject({ fault: type, answered: false });
      expect(ofStep[1]).toMatchObject({ answered: true });
      expect(ofStep[1]?.fault).toBeUndefined();
    },
  );

  it('does not send a new order twice: a held newOrder fails the attempt as transient', async () => {
    const ca = coldCa();
    const from = proxy.log.length;
    proxy.inject({ step: 'newOrder', fault: { type: 'timeout' }, times: 1 });
    const error = await rejection(
      ca.placeOrder({ domains: [`${uniqueLabel('held')}.certloop.test`] }),
    );
    expect(error.kind).toBe('transient');
    expect(error.message).toMatch(/no HTTP response from POST .*order/);
    expect(proxy.since(from).filter((e) => e.step === 'newOrder')).toHaveLength(1);
  });
});

/**
 * A scripted ACME server (plain HTTP, no JWS checks) for answers pebble never gives:
 * rate limits, identifier refusals with subproblems, server errors.
 */
describe('AcmeClientCa error translation against a scripted CA', () => {
  let server: Server;
  let base: string;
  let orderAnswer: (res: ServerResponse) => void = () => undefined;
  let orderRequests = 0;
  /** Answers to the POST-as-GET of the order `${base}/order/1`, in turn (the last repeats). */
  let orderPollAnswers: Array<(res: ServerResponse) => void> = [];
  let orderPollRequests = 0;

  function problem(
    res: ServerResponse,
    status: number,
    body: object,
    headers: Record<string, string> = {},
  ) {
    res.writeHead(status, {
      'Content-Type': 'application/problem+json',
      'Replay-Nonce': 'n',
      ...headers,
    });
    res.end(JSON.stringify(body));
  }

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/dir') {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(
            JSON.stringify({
              newNonce: `${base}/nonce`,
              newAccount: `${base}/account`,
              newOrder: `${base}/order`,
            }),
          );
        } else if (req.url === '/nonce') {
          res.writeHead(200, { 'Replay-Nonce': 'n' });
          res.end();
        } else if (req.url === '/account') {
          res.writeHead(201, {
            'Content-Type': 'application/json',
            Location: `${base}/acct/1`,
            'Replay-Nonce': 'n',
          });
          res.end(JSON.stringify({ status: 'valid' }));
        } else if (req.url === '/order') {
          orderRequests++;
          orderAnswer(res);
        } else if (req.url === '/order/1') {
          const answer = orderPollAnswers[Math.min(orderPollRequests, orderPollAnswers.length - 1)];
          orderPollRequests++;
          answer?.(res);
        } else {
          res.writeHead(404);
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function scriptedCa(): AcmeClientCa {
    return new AcmeClientCa({
      directoryUrl: `${base}/dir`,
      secrets: new MemorySecretStore(),
      keys: new NodeKeyFactory(),
    });
  }

  it('maps HTTP 429 rateLimited to rate-limited with Retry-After, without sleeping in the library', async () => {
    orderRequests = 0;
    orderAnswer = (res) =>
      problem(
        res,
        429,
        {
          type: 'urn:ietf:params:acme:error:rateLimited',
          detail: 'too many certificates for this name',
        },
        { 'Retry-After': '3600' },
      );
    const started = Date.now();
    const error = await rejection(scriptedCa().placeOrder({ domains: ['a.certloop.test'] }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(orderRequests).toBe(1);
    expect(error.kind).toBe('rate-limited');
    expect(error.retryAfterMs).toBe(3_600_000);
    expect(error.source).toBe('ca');
    expect(error.message).toContain('too many certificates for this name');
  });

  it('maps an HTTP-date Retry-After to milliseconds from now', async () => {
    const at = new Date(Date.now() + 120_000).toUTCString();
    orderAnswer = (res) =>
      problem(
        res,
        429,
        { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down' },
        { 'Retry-After': at },
      );
    const error = await rejection(scriptedCa().placeOrder({ domains: ['a.certloop.test'] }));
    expect(error.kind).toBe('rate-limited');
    expect(error.retryAfterMs).toBeGreaterThan(100_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(120_000);
  });

  it.each([
    ['rejectedIdentifier', 400],
    ['unsupportedIdentifier', 400],
    ['caa', 403],
  ])('maps %s to permanent', async (type, status) => {
    orderAnswer = (res) =>
      problem(res, status, {
        type: `urn:ietf:params:acme:error:${type}`,
        detail: `refused: ${type}`,
      });
    const error = await rejection(scriptedCa().placeOrder({ domains: ['a.certloop.test'] }));
    expect(error.kind).toBe('permanent');
    expect(error.message).toContain(type);
    expect(error.message).toContain(`refused: ${type}`);
  });

  it('maps a compound problem whose subproblem rejects an identifier to permanent, naming it', async () => {
    orderAnswer = (res) =>
      problem(res, 400, {
        type: 'urn:ietf:params:acme:error:compound',
        detail: 'Some identifiers were rejected',
        subproblems: [
          {
            type: 'urn:ietf:params:acme:error:rejectedIdentifier',
            detail: 'policy forbids this name',
            identifier: { type: 'dns', value: 'forbidden.certloop.test' },
          },
        ],
      });
    const error = await rejection(
      scriptedCa().placeOrder({ domains: ['ok.certloop.test', 'forbidden.certloop.test'] }),
    );
    expect(error.kind).toBe('permanent');
    expect(error.message).toContain('forbidden.certloop.test');
    expect(error.message).toContain('policy forbids this name');
  });

  it('keeps malformed on newOrder transient when it is not about the identifiers', async () => {
    orderAnswer = (res) =>
      problem(res, 400, {
        type: 'urn:ietf:params:acme:error:malformed',
        detail: 'Unable to decode the replaces field',
      });
    const error = await rejection(
      scriptedCa().placeOrder({ domains: ['a.certloop.test'], replaces: 'not-an-ari-id' }),
    );
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('Unable to decode the replaces field');
  });

  it('maps malformed naming a requested identifier to permanent', async () => {
    orderAnswer = (res) =>
      problem(res, 400, {
        type: 'urn:ietf:params:acme:error:malformed',
        detail: 'Cannot issue for "a..certloop.test": empty label',
      });
    const error = await rejection(scriptedCa().placeOrder({ domains: ['a..certloop.test'] }));
    expect(error.kind).toBe('permanent');
  });

  it('maps a server error to transient after the library retried it', async () => {
    orderRequests = 0;
    orderAnswer = (res) =>
      problem(
        res,
        500,
        { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'database unavailable' },
        { 'Retry-After': '1' },
      );
    const error = await rejection(scriptedCa().placeOrder({ domains: ['a.certloop.test'] }));
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('serverInternal');
    expect(error.message).toContain('database unavailable');
    expect(orderRequests).toBe(6); // acme-client's own 5 retries on 5xx, then us
  }, 20_000);

  it('lets the library retry a 5xx without Retry-After once (after 5 s), not five times (75 s)', async () => {
    orderRequests = 0;
    orderAnswer = (res) =>
      problem(res, 503, {
        type: 'urn:ietf:params:acme:error:serverInternal',
        detail: 'maintenance',
      });
    const started = Date.now();
    const error = await rejection(scriptedCa().placeOrder({ domains: ['b.certloop.test'] }));
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('maintenance');
    expect(orderRequests).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4_500);
  }, 20_000);

  it('hands a 5xx with a long Retry-After to the scheduler at once, without sleeping in the library', async () => {
    orderRequests = 0;
    orderAnswer = (res) =>
      problem(
        res,
        503,
        { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'down for maintenance' },
        { 'Retry-After': '3600' },
      );
    const started = Date.now();
    const error = await rejection(scriptedCa().placeOrder({ domains: ['a.certloop.test'] }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(orderRequests).toBe(1);
    expect(error.kind).toBe('transient');
    expect(error.retryAfterMs).toBe(3_600_000);
    expect(error.message).toContain('down for maintenance');
  });

  it('stops polling an order at a 429 and hands its Retry-After to the scheduler', async () => {
    orderPollRequests = 0;
    orderPollAnswers = [
      (res) => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Replay-Nonce': 'n' });
        res.end(
          JSON.stringify({
            status: 'processing',
            identifiers: [{ type: 'dns', value: 'a.certloop.test' }],
            authorizations: [],
            finalize: `${base}/order/1/finalize`,
          }),
        );
      },
      (res) =>
        problem(
          res,
          429,
          { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'polling too fast' },
          { 'Retry-After': '600' },
        ),
    ];
    const ca = new AcmeClientCa({
      directoryUrl: `${base}/dir`,
      secrets: new MemorySecretStore(),
      keys: new NodeKeyFactory(),
      polling: { attempts: 5, minDelayMs: 10, maxDelayMs: 10 },
    });
    // The order is processing: finalize only waits for it, and the first poll is limited.
    const error = await rejection(
      ca.finalize(`${base}/order/1`, 'unused: the order is processing'),
    );
    expect(orderPollRequests).toBe(2);
    expect(error.kind).toBe('rate-limited');
    expect(error.retryAfterMs).toBe(600_000);
    expect(error.message).toContain('polling too fast');
  });

  it('maps a CA that does not answer in time to transient', async () => {
    // Connection refused would be retried by acme-client with growing delays (5 s, 10 s,
    // ...); a timeout is not, so the server here accepts and never answers.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/dir`;
    const silentCa = new AcmeClientCa({
      directoryUrl: silentUrl,
      secrets: new MemorySecretStore(),
      keys: new NodeKeyFactory(),
      requestTimeoutMs: 300,
    });
    try {
      const error = await rejection(silentCa.placeOrder({ domains: ['a.certloop.test'] }));
      expect(error.kind).toBe('transient');
      // An empty store: the fresh key is unknown to any CA, so the account is created at once.
      expect(error.message).toContain('create account');
      expect(error.message).toContain(`no HTTP response from GET ${silentUrl}`);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});
