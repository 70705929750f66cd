import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { StructuredLogger } from '../../src/adapters/logging/powertools-logger.js';
import { ENV } from '../../src/config/environment.js';
import { type PebbleServer, startPebble } from '../../src/local/pebble-server.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import { type DynaliteEnv, useDynaliteEnv } from '../support/aws-env.js';
import { ManualClock } from '../support/manual-clock.js';

describe('the scheduled tick function, configured only through its environment', () => {
  let dynalite: DynaliteEnv;
  let pebble: PebbleServer;
  let dir: string;

  beforeAll(async () => {
    dynalite = await useDynaliteEnv();
    pebble = await startPebble();
    dir = await mkdtemp(join(tmpdir(), 'certloop-handler-'));
    await ensureTable(dynalite.client, 'handler-records');
    const caFile = join(dir, 'pebble-ca.pem');
    await writeFile(caFile, pebble.listenerCaPem);
    Object.assign(process.env, {
      [ENV.tableName]: 'handler-records',
      [ENV.issuers]: JSON.stringify({
        default: { directoryUrl: pebble.directoryUrl, trustedCaFile: caFile },
      }),
      [ENV.allowedSuffixes]: 'example.test',
      [ENV.secretStore]: 'directory',
      [ENV.secretStoreDir]: join(dir, 'secrets'),
      [ENV.dns]: 'challtestsrv',
      [ENV.challtestsrvUrl]: pebble.challtestsrvUrl,
      [ENV.challtestsrvDns]: pebble.dnsServer,
    });
    const records = new DynamoDbRecordStore({
      client: dynalite.client,
      tableName: 'handler-records',
    });
    const deps = {
      records,
      clock: new ManualClock(Date.now()),
      logger: new StructuredLogger(),
      policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
      issuerNames: ['default'],
      defaultIssuer: 'default',
    };
    await registerCertificate(deps, { id: 'shop', domains: ['shop.example.test'] });
    await registerCertificate(deps, {
      id: 'blog',
      domains: ['blog.example.test'],
      wildcards: ['blog.example.test'],
      keyType: 'rsa-2048',
    });
  });
  afterAll(async () => {
    await pebble?.stop();
    await dynalite?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('issues every due certificate on invoke and reports the counts', async () => {
    const { handler } = await import('../../functions/scheduled-tick.js');
    const result = await handler();
    expect(result).toMatchObject({ due: 2, counts: { issued: 2, failed: 0 } });
    for (const name of ['shop', 'blog']) {
      const certDir = join(dir, 'secrets', 'certs', name, 'current');
      const leaf = new X509Certificate(await readFile(join(certDir, 'fullchain.pem')));
      expect(
        leaf.checkPrivateKey(createPrivateKey(await readFile(join(certDir, 'privkey.pem')))),
      ).toBe(true);
    }
    expect(await handler()).toMatchObject({ due: 0 });
  });
});
