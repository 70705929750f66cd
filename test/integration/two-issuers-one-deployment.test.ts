// Two issuers in one deployment, configured only through the environment as a cold start
// reads it: `default` (a pebble without EAB) and `zerossl-like` (another pebble that
// requires External Account Binding, its HMAC key in a file). Records tagged
// `certloop:issuer` go to the named issuer, the rest to the default; each certificate is
// checked against the root of the pebble that should have signed it.
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import { composeRuntime, type Runtime } from '../../src/app/compose.js';
import { readRuntimeConfig } from '../../src/config/runtime-config.js';
import { registrationFromTags, TAGS } from '../../src/core/registration-tags.js';
import { type PebbleServer, startPebble } from '../../src/local/pebble-server.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import { type DynaliteEnv, useDynaliteEnv } from '../support/aws-env.js';
import { MirroredDns01Solver } from '../support/mirrored-dns.js';
import { localRuntimeEnv } from '../support/pebble.js';
import { RecordingLogger } from '../support/test-loggers.js';

const KID = 'kid-two-issuers';
const HMAC_KEY = randomBytes(32).toString('base64url');

/** Secret id -> its tags, as a user would tag the secrets. */
const TAGGED: Record<string, Record<string, string>> = {
  'plain-www': { [TAGS.domains]: 'www.example.test' },
  'plain-api': { [TAGS.domains]: 'api.example.test', [TAGS.issuer]: 'default' },
  'bound-shop': { [TAGS.domains]: 'shop.example.test', [TAGS.issuer]: 'zerossl-like' },
  'bound-blog': {
    [TAGS.domains]: 'blog.example.test',
    [TAGS.wildcards]: 'blog.example.test',
    [TAGS.issuer]: 'zerossl-like',
  },
};
const EXPECTED_ISSUER: Record<string, 'default' | 'zerossl-like'> = {
  'plain-www': 'default',
  'plain-api': 'default',
  'bound-shop': 'zerossl-like',
  'bound-blog': 'zerossl-like',
};

describe('two issuers in one deployment, one of them with External Account Binding', () => {
  let dynalite: DynaliteEnv;
  let plain: PebbleServer;
  let bound: PebbleServer;
  let dir: string;
  let runtime: Runtime;
  const logger = new RecordingLogger();

  beforeAll(async () => {
    dynalite = await useDynaliteEnv();
    [plain, bound] = await Promise.all([
      startPebble(),
      startPebble({ externalAccountMACKeys: { [KID]: HMAC_KEY } }),
    ]);
    dir = await mkdtemp(join(tmpdir(), 'certloop-two-issuers-'));
    await ensureTable(dynalite.client, 'two-issuers');
    const plainCa = join(dir, 'plain-ca.pem');
    const boundCa = join(dir, 'bound-ca.pem');
    const hmacKeyFile = join(dir, 'zerossl-like.hmac');
    await writeFile(plainCa, plain.listenerCaPem);
    await writeFile(boundCa, bound.listenerCaPem);
    await writeFile(hmacKeyFile, `${HMAC_KEY}\n`, { mode: 0o600 });
    const env = {
      ...process.env,
      ...localRuntimeEnv({
        tableName: 'two-issuers',
        issuers: {
          default: { directoryUrl: plain.directoryUrl, trustedCaFile: plainCa },
          'zerossl-like': {
            directoryUrl: bound.directoryUrl,
            trustedCaFile: boundCa,
            eab: { keyId: KID, hmacKeyFile },
          },
        },
        dir,
        dns: plain,
      }),
    };
    runtime = composeRuntime(readRuntimeConfig(env), {
      logger,
      // Each pebble validates against its own challtestsrv: publish every TXT on both.
      decorateDns: (solver) =>
        new MirroredDns01Solver(
          solver,
          new ChalltestsrvDns01Solver({
            managementUrl: bound.challtestsrvUrl,
            dnsServer: bound.dnsServer,
          }),
        ),
    });
    for (const [id, tags] of Object.entries(TAGGED)) {
      const registration = registrationFromTags(id, tags);
      if (!registration) throw new Error(`${id} is not tagged for certloop`);
      expect(await registerCertificate(runtime.registration, registration)).toBe('created');
    }
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), bound?.stop()]);
    await dynalite?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('issues each certificate from the issuer its tag names, or the default', async () => {
    const report = await runtime.tick();
    expect(report).toMatchObject({ counts: { issued: 4, failed: 0 } });
    const roots = {
      default: new X509Certificate(await plain.rootCertificatePem()),
      'zerossl-like': new X509Certificate(await bound.rootCertificatePem()),
    };
    for (const [id, issuer] of Object.entries(EXPECTED_ISSUER)) {
      expect((await runtime.registration.records.get(id))?.current?.issuer).toBe(issuer);
      const bundle = await runtime.issuance.secrets.readCertificate(id);
      if (!bundle) throw new Error(`${id} has no certificate`);
      const leaf = new X509Certificate(bundle.certificate);
      const intermediate = new X509Certificate(bundle.chain);
      expect(leaf.checkIssued(intermediate)).toBe(true);
      expect(leaf.verify(intermediate.publicKey)).toBe(true);
      const other = issuer === 'default' ? 'zerossl-like' : 'default';
      expect(intermediate.verify(roots[issuer].publicKey), `${id} chains to ${issuer}`).toBe(true);
      expect(intermediate.verify(roots[other].publicKey), `${id} is not from ${other}`).toBe(false);
      expect(bundle.issuer).toBe(leaf.issuer);
    }
    // One account per (directory URL, EAB key id): two account keys, one bound.
    expect(await readdir(join(dir, 'secrets', 'accounts'))).toHaveLength(2);
    const ready = logger.lines.filter((line) => line.message === 'acme account ready');
    expect(ready.map((line) => line.fields.issuer).sort()).toEqual(['default', 'zerossl-like']);
    expect(ready.find((line) => line.fields.issuer === 'zerossl-like')?.fields.eabKeyId).toBe(KID);
    expect(logger.jsonLines().some((line) => line.includes(HMAC_KEY))).toBe(false);
  });
});
