import { X509Certificate } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { describe, expect, it } from 'vitest';
import { AcmeClientCa } from '../../src/adapters/acme/acme-client-ca.js';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import { startAcmeFront } from '../../src/local/acme-front.js';
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
    keys: new NodeKeyFactory(),
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
  return { orderUrl, domains, fullchain, certId: await ariCertificateIdOf(fullchain) };
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

  it('answers renewalInfo per RFC 9773 with the default window ending at the lifetime rule, Retry-After and explanationURL', async () => {
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
    // the last 30th of the lifetime before certloop's lifetime rule (1/2 for this 160 h one)
    expect(lifetime).toBeLessThan(10 * 86_400_000);
    expect(Math.abs(start - (notBefore + lifetime * (1 / 2 - 1 / 30)))).toBeLessThanOrEqual(1);
    expect(Math.abs(end - (notBefore + lifetime / 2))).toBeLessThanOrEqual(1);
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

  it('moves windows through the management API: into the past, later, or to an explicit window', async () => {
    const ca = newAccount(fixture());
    const a = await issue(fixture(), ca);
    const b = await issue(fixture(), ca);
    const c = await issue(fixture(), ca);
    const [leafA, leafB, leafC] = [a, b, c].map((issued) => leafOf(issued.fullchain));
    // Serials in any case, with ':' separators, are accepted.
    const colonSerial = (leafA?.serialNumber ?? '').toLowerCase().match(/../g)?.join(':') ?? '';

    const before = Date.now();
    const past = await management(fixture(), '/windows', {
      serials: [colonSerial, 'ABCDEF0123'],
      window: 'past',
    });
    expect(past).toEqual({ status: 200, json: { moved: [colonSerial], unknown: ['ABCDEF0123'] } });
    const pastWindow = JSON.parse((await renewalInfo(fixture(), a.certId)).body).suggestedWindow;
    expect(Date.parse(pastWindow.end)).toBeLessThanOrEqual(Date.now() - HOUR);
    expect(Date.parse(pastWindow.end)).toBeGreaterThanOrEqual(before - HOUR - 1000);
    expect(Date.parse(pastWindow.start)).toBeLessThan(Date.parse(pastWindow.end));

    const later = await management(fixture(), '/windows', {
      serials: [leafB?.serialNumber ?? ''],
      window: 'later',
    });
    expect(later.json).toEqual({ moved: [leafB?.serialNumber], unknown: [] });
    const laterWindow = JSON.parse((await renewalInfo(fixture(), b.certId)).body).suggestedWindow;
    const notBeforeB = Date.parse(leafB?.validFrom ?? '');
    const lifetimeB = lifetimeMs(leafB as X509Certificate);
    expect(Date.parse(laterWindow.start)).toBeGreaterThan(notBeforeB + (lifetimeB * 2) / 3);
    expect(Date.parse(laterWindow.end)).toBeLessThan(Date.parse(leafB?.validTo ?? ''));

    const explicit = { start: '2030-01-02T03:04:05.000Z', end: '2030-01-03T03:04:05.000Z' };
    const moved = fixture().front.moveWindows({
      serials: [leafC?.serialNumber ?? ''],
      window: explicit,
    });
    expect(moved.moved).toHaveLength(1);
    expect(JSON.parse((await renewalInfo(fixture(), c.certId)).body).suggestedWindow).toEqual(
      explicit,
    );

    const listed = (await management(fixture(), '/certificates')).json as Array<{
      certId: string;
      windowMoved: boolean;
    }>;
    const movedIds = listed.filter((entry) => entry.windowMoved).map((entry) => entry.certId);
    expect(movedIds).toEqual(expect.arrayContaining([a.certId, b.certId, c.certId]));
    const orders = (await management(fixture(), '/orders')).json as Array<{ url?: string }>;
    expect(orders.map((order) => order.url)).toContain(a.orderUrl);
  });

  it('answers bad management input with 400 naming what was wrong', async () => {
    const notJson = await management(fixture(), '/windows', '{serials');
    expect(notJson).toEqual({ status: 400, json: { error: 'the body is not JSON' } });
    const badSerial = await management(fixture(), '/windows', { serials: ['xyz'], window: 'past' });
    expect(badSerial.status).toBe(400);
    expect(JSON.stringify(badSerial.json)).toContain('serials are hexadecimal');
    const backwards = await management(fixture(), '/windows', {
      serials: ['01'],
      window: { start: '2030-01-02T00:00:00Z', end: '2030-01-01T00:00:00Z' },
    });
    expect(JSON.stringify(backwards.json)).toContain('window.start must be before window.end');
    const badFault = await management(fixture(), '/renewal-info-fault', { fault: 'sometimes' });
    expect(badFault.status).toBe(400);
    expect(JSON.stringify(badFault.json)).toContain('fault');
  });

  it('makes renewalInfo fail in each fault mode, for a number of requests or until changed', async () => {
    const { certId, fullchain } = await issue(fixture(), newAccount(fixture()));
    const leaf = leafOf(fullchain);
    const setFault = async (body: unknown) => {
      const answer = await management(fixture(), '/renewal-info-fault', body);
      expect(answer.status).toBe(200);
    };
    try {
      await setFault({ fault: '5xx', count: 2 });
      expect((await renewalInfo(fixture(), certId)).status).toBe(500);
      const second = await renewalInfo(fixture(), certId);
      expect(second.status).toBe(500);
      expect(JSON.parse(second.body).type).toBe('urn:ietf:params:acme:error:serverInternal');
      expect((await renewalInfo(fixture(), certId)).status).toBe(200); // count used up

      await setFault({ fault: '404' });
      expect((await renewalInfo(fixture(), certId)).status).toBe(404);
      expect((await renewalInfo(fixture(), certId)).status).toBe(404); // until changed

      await setFault({ fault: 'malformed-json', count: 1 });
      const malformed = await renewalInfo(fixture(), certId);
      expect(malformed.status).toBe(200);
      expect(() => JSON.parse(malformed.body)).toThrow();

      await setFault({ fault: 'end-before-start', count: 1 });
      const backwards = JSON.parse((await renewalInfo(fixture(), certId)).body).suggestedWindow;
      expect(Date.parse(backwards.end)).toBeLessThan(Date.parse(backwards.start));

      await setFault({ fault: 'years-away', count: 1 });
      const far = JSON.parse((await renewalInfo(fixture(), certId)).body).suggestedWindow;
      expect(Date.parse(far.start)).toBeGreaterThan(Date.now() + 4 * 365 * 24 * HOUR);
      expect(Date.parse(far.start)).toBeGreaterThan(Date.parse(leaf.validTo));

      fixture().front.setRenewalInfoFault({ fault: 'timeout', count: 1 });
      const started = Date.now();
      await expect(renewalInfo(fixture(), certId, 500)).rejects.toThrow(/no answer in 500 ms/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect((await renewalInfo(fixture(), certId)).status).toBe(200);
    } finally {
      fixture().front.setRenewalInfoFault({ fault: 'none' });
    }
  });
});

describe('the ACME front with ARI and profiles turned off, before a default pebble', () => {
  const fixture = useAcmeFront({ ari: false, profiles: null });

  it('advertises neither renewalInfo nor profiles, and answers every renewalInfo URL 404', async () => {
    const { directoryUrl, listenerCaPem } = fixture();
    const directory = JSON.parse((await httpsGet(directoryUrl, listenerCaPem)).body);
    expect(directory.renewalInfo).toBeUndefined();
    expect(directory.meta?.profiles).toBeUndefined();
    const { certId } = await issue(fixture(), newAccount(fixture()));
    const origin = new URL(directoryUrl).origin;
    expect((await httpsGet(`${origin}/renewal-info/${certId}`, listenerCaPem)).status).toBe(404);
  });

  it('forwards any profile unchanged, and pebble keeps its default lifetime', async () => {
    const ca = newAccount(fixture());
    const { fullchain, orderUrl } = await issue(fixture(), ca, { profile: 'anything-goes' });
    expect(lifetimeMs(leafOf(fullchain))).toBeGreaterThan(365 * 24 * HOUR);
    expect(
      fixture()
        .front.orders()
        .find((order) => order.url === orderUrl),
    ).toMatchObject({
      profile: 'anything-goes',
      status: 'valid',
    });
  });

  it('stop() answers held renewalInfo requests by closing them and closes both listeners', async () => {
    const { pebble } = fixture();
    const front = await startAcmeFront({
      upstream: { directoryUrl: pebble.directoryUrl, listenerCaPem: pebble.listenerCaPem },
    });
    front.setRenewalInfoFault({ fault: 'timeout' });
    const origin = new URL(front.directoryUrl).origin;
    const held = httpsGet(
      `${origin}/renewal-info/aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE`,
      front.listenerCaPem,
    );
    const heldOutcome = held.then(
      () => 'answered',
      (error: Error) => error.message,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = Date.now();
    await front.stop();
    expect(await heldOutcome).toMatch(/socket hang up|ECONNRESET/);
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(httpsGet(front.directoryUrl, front.listenerCaPem)).rejects.toThrow(/ECONNREFUSED/);
    await expect(fetch(`${front.managementUrl}/orders`)).rejects.toThrow();
  });
});
