import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { StructuredLogger } from '../../src/adapters/logging/powertools-logger.js';
import { composeRuntime } from '../../src/app/compose.js';
import { ENV } from '../../src/config/environment.js';
import { readRuntimeConfig } from '../../src/config/runtime-config.js';
import { type PebbleServer, startPebble } from '../../src/local/pebble-server.js';
import { registerCertificate } from '../../src/services/register-certificates.js';
import { type DynaliteEnv, useDynaliteEnv } from '../support/aws-env.js';
import { ManualClock } from '../support/manual-clock.js';
import { localRuntimeEnv } from '../support/pebble.js';

describe('a plan-and-issue pass of the runtime configured only through its environment', () => {
  let dynalite: DynaliteEnv;
  let pebble: PebbleServer;
  let dir: string;

  beforeAll(async () => {
    dynalite = await useDynaliteEnv();
    pebble = await startPebble();
    dir = await mkdtemp(join(tmpdir(), 'certloop-tick-'));
    await ensureTable(dynalite.client, 'tick-records');
    const caFile = join(dir, 'pebble-ca.pem');
    await writeFile(caFile, pebble.listenerCaPem);
    Object.assign(process.env, {
      ...localRuntimeEnv({
        tableName: 'tick-records',
        issuers: { default: { directoryUrl: pebble.directoryUrl, trustedCaFile: caFile } },
        dir,
        dns: pebble,
      }),
      // A CA budget of two new orders per 3 hours, so that the third due record waits.
      [ENV.budgetOrders]: '2',
      [ENV.budgetWindowHours]: '3',
    });
    const records = new DynamoDbRecordStore({
      client: dynalite.client,
      tableName: 'tick-records',
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
    await registerCertificate(deps, { id: 'news', domains: ['news.example.test'] });
  });
  afterAll(async () => {
    await pebble?.stop();
    await dynalite?.teardown();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('issues the due certificates the CA budget admits, and holds the rest', async () => {
    // The composition a cold start makes: the configuration read and checked from the
    // environment, then the services wired once.
    const runtime = composeRuntime(readRuntimeConfig(process.env));
    const result = await runtime.tick();
    // Three due, a budget of two orders: the two due first are issued, one is held.
    expect(result).toMatchObject({ due: 3, heldByBudget: 1, counts: { issued: 2, failed: 0 } });
    const issued = ['shop', 'blog', 'news'].filter((name) =>
      existsSync(join(dir, 'secrets', 'certs', name, 'current')),
    );
    expect(issued).toHaveLength(2);
    for (const name of issued) {
      const certDir = join(dir, 'secrets', 'certs', name, 'current');
      const leaf = new X509Certificate(await readFile(join(certDir, 'fullchain.pem')));
      expect(
        leaf.checkPrivateKey(createPrivateKey(await readFile(join(certDir, 'privkey.pem')))),
      ).toBe(true);
    }
    // The window's two orders are spent: the third record stays due and is held again.
    expect(await runtime.tick()).toMatchObject({ due: 1, heldByBudget: 1, counts: { issued: 0 } });
  });
});
