import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { describe, expect, it } from 'vitest';
import { AcmeClientCa } from '../../src/adapters/acme/acme-client-ca.js';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import { type AcmeFrontFixture, useAcmeFront } from '../support/acme-front.js';
import { uniqueLabel } from '../support/pebble.js';

const FAST_POLLING = { attempts: 40, minDelayMs: 50, maxDelayMs: 250 };
const HOUR = 3_600_000;
const SHORTLIVED_SECONDS = 160 * 3600;

interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET over HTTPS trusting `caPem`; rejects when `timeoutMs` passes without an answer. */
function httpsGet(url: string, caPem: string, timeoutMs = 10_000): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca: caPem, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

async function management(
  fixture: AcmeFrontFixture,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const response = await fetch(`${fixture.front.managementUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    ...(body === undefined
      ? {}
      : {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }),
  });
  return { status: response.status, json: await response.json() };
}

function newAccount(fixture: AcmeFrontFixture): AcmeClientCa {
  return new AcmeClientCa({
    directoryUrl: fixture.directoryUrl,
    secrets: new MemorySecretStore(),
    trustedCaPem: fixture.listenerCaPem,
    polling: FAST_POLLING,
  });
}

/** Places an order on `ca` (with `profile` / `replaces` if given) and takes it to a download. */
async function issue(
  fixture: AcmeFrontFixture,
  ca: AcmeClientCa,
  request: { domains?: string[]; profile?: string; replaces?: string } = {},
) {
  const domains = request.domains ?? [`${uniqueLabel('front')}.certloop.test`];
  const placed = await ca.placeOrder({ ...request, domains });
  return complete(fixture, ca, placed.url, domains);
}

async function complete(
  fixture: AcmeFrontFixture,
  ca: AcmeClientCa,
  orderUrl: string,
  domains: string[],
) {
  const solver = new ChalltestsrvDns01Solver({
    managementUrl: fixture.challtestsrvUrl,
    dnsServer: fixture.dnsServer,
  });
  const keys = new NodeKeyFactory();
  const challenges = await ca.pendingDns01Challenges(orderUrl);
  const records = challenges.map((c) => ({ name: c.recordName, value: c.recordValue }));
  await solver.present(records);
  await solver.waitForPropagation(records);
  await ca.answerChallenges(challenges);
  await solver.cleanup(records);
  await ca.finalize(orderUrl, await keys.createCsr(await keys.generate('ec-p256'), domains));
  const fullchain = await ca.downloadCertificate(orderUrl);
  return { orderUrl, domains, fullchain, certId: ariCertificateIdOf(fullchain) };
}

function leafOf(fullchain: string): X509Certificate {
  return new X509Certificate(fullchain);
}

function lifetimeMs(leaf: X509Certificate): number {
  return Date.parse(leaf.validTo) - Date.parse(leaf.validFrom);
}

async function renewalInfo(fixture: AcmeFrontFixture, certId: string, timeoutMs?: number) {
  const directory = JSON.parse((await httpsGet(fixture.directoryUrl, fixture.listenerCaPem)).body);
  return httpsGet(`${directory.renewalInfo}/${certId}`, fixture.listenerCaPem, timeoutMs);
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

describe('the ACME front with ARI and the default profiles, before a 160-hour pebble', () => {
  const fixture = useAcmeFront({
    pebble: { certificateValidityPeriod: SHORTLIVED_SECONDS },
    explanationUrl: 'https://ca.certloop.test/incident',
    retryAfterSeconds: 3_600,
  });

  it('advertises renewalInfo and the three profiles, with every URL on the front', async () => {
    const { directoryUrl, listenerCaPem } = fixture();
    const answer = await httpsGet(directoryUrl, listenerCaPem);
    expect(answer.status).toBe(200);
    const directory = JSON.parse(answer.body);
    const origin = new URL(directoryUrl).origin;
    expect(directory.renewalInfo).toBe(`${origin}/renewal-info`);
    expect(Object.keys(directory.meta.profiles).sort()).toEqual([
      'classic',
      'shortlived',
      'tlsserver',
    ]);
    for (const name of ['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'keyChange']) {
      expect(new URL(directory[name]).origin).toBe(origin);
    }
  });

  it('issues certificates of the configured 160-hour lifetime and learns them from the download', async () => {
    const ca = newAccount(fixture());
    const { fullchain, certId, orderUrl } = await issue(fixture(), ca, { profile: 'shortlived' });
    const leaf = leafOf(fullchain);
    expect(Math.abs(lifetimeMs(leaf) - SHORTLIVED_SECONDS * 1000)).toBeLessThanOrEqual(1000);
    const learned = fixture()
      .front.certificates()
      .find((c) => c.certId === certId);
    expect(learned).toMatchObject({
      serial: leaf.serialNumber.toLowerCase().replace(/^0+/, ''),
      account: await ca.accountUrl(),
      orderUrl,
      profile: 'shortlived',
      windowMoved: false,
    });
    const order = fixture()
      .front.orders()
      .find((o) => o.url === orderUrl);
    expect(order).toMatchObject({ status: 'valid', profile: 'shortlived', certId });
  });

  it('answers renewalInfo per RFC 9773 with the default window in the last third, Retry-After and explanationURL', async () => {
    const { fullchain, certId } = await issue(fixture(), newAccount(fixture()));
    const leaf = leafOf(fullchain);
    const answer = await renewalInfo(fixture(), certId);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers['retry-after']).toBe('3600');
    const body = JSON.parse(answer.body);
    expect(body.explanationURL).toBe('https://ca.certloop.test/incident');
    const notBefore = Date.parse(leaf.validFrom);
    const lifetime = lifetimeMs(leaf);
    const start = Date.parse(body.suggestedWindow.start);
    const end = Date.parse(body.suggestedWindow.end);
    expect(Math.abs(start - (notBefore + lifetime * (2 / 3 - 1 / 30)))).toBeLessThanOrEqual(1);
    expect(Math.abs(end - (notBefore + (lifetime * 2) / 3))).toBeLessThanOrEqual(1);
  });

  it('answers 404 for a certificate ID it has not seen issued, and for a malformed one', async () => {
    expect((await renewalInfo(fixture(), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE')).status).toBe(404);
    expect((await renewalInfo(fixture(), 'not-an-ari-id')).status).toBe(404);
  });

  it("refuses replaces naming an unknown certificate or another account's, as malformed", async () => {
    const owner = newAccount(fixture());
    const other = newAccount(fixture());
    const { certId, domains } = await issue(fixture(), owner);
    const unknown = await refusal(
      owner.placeOrder({ domains, replaces: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE' }),
    );
    expect(unknown).toMatch(/malformed \(HTTP 400\).*unknown certificate/);
    const foreign = await refusal(other.placeOrder({ domains, replaces: certId }));
    expect(foreign).toMatch(/malformed \(HTTP 400\).*another account/);
    const refused = fixture()
      .front.orders()
      .filter(
        (order) => order.status === 'refused' && order.identifiers.includes(domains[0] ?? ''),
      );
    expect(refused.map((order) => order.refusal?.type)).toEqual([
      'urn:ietf:params:acme:error:malformed',
      'urn:ietf:params:acme:error:malformed',
    ]);
  });

  it('accepts replaces again until a replacement is valid, then refuses it as alreadyReplaced (409)', async () => {
    const ca = newAccount(fixture());
    const { certId, domains } = await issue(fixture(), ca);
    const first = await ca.placeOrder({ domains, replaces: certId });
    // A retry after a crash: the first order is not valid yet, so a second is accepted.
    const second = await ca.placeOrder({ domains, replaces: certId });
    expect(second.url).not.toBe(first.url);
    const replacement = await complete(fixture(), ca, first.url, domains);
    expect(
      fixture()
        .front.certificates()
        .find((c) => c.certId === replacement.certId),
    ).toMatchObject({
      replaces: certId,
    });
    const again = await refusal(ca.placeOrder({ domains, replaces: certId }));
    expect(again).toMatch(/alreadyReplaced \(HTTP 409\)/);
    const orders = fixture()
      .front.orders()
      .filter((order) => order.replaces === certId);
    expect(orders.map((order) => order.status)).toEqual(['valid', 'pending', 'refused']);
    expect(orders[2]?.refusal).toMatchObject({
      status: 409,
      type: 'urn:ietf:params:acme:error:alreadyReplaced',
      by: 'front',
    });
  });

  it('refuses a profile it does not offer as invalidProfile, listing the offered names', async () => {
    const ca = newAccount(fixture());
    const domains = [`${uniqueLabel('profile')}.certloop.test`];
    const message = await refusal(ca.placeOrder({ domains, profile: 'tlsclient' }));
    expect(message).toMatch(/invalidProfile \(HTTP 400\)/);
    expect(message).toContain('classic, shortlived, tlsserver');
    const accepted = await ca.placeOrder({ domains, profile: 'tlsserver' });
    expect(accepted.status).toBe('pending');
    const recorded = fixture()
      .front.orders()
      .filter((order) => order.identifiers.includes(domains[0] ?? ''));
    expect(recorded.map((order) => [order.profile, order.status, order.refusal?.type])).toEqual([
      ['tlsclient', 'refused', 'urn:ietf:params:acme:error:invalidProfile'],
      ['tlsserver', 'pending', undefined],
    ]);
  });
});
