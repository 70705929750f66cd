// The StekSetStore and StekLocks contracts (src/ports/stek-store.ts), run against the
// in-memory fakes and the real adapters (directory, Secrets Manager on moto, DynamoDB
// on dynalite). Key comparisons go through `equals`, so failures never print bytes.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerStekStore } from '../../src/adapters/aws/secrets-manager-stek-store.js';
import { DynamoDbStekLocks } from '../../src/adapters/dynamodb/dynamodb-stek-locks.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { DirectoryStekStore } from '../../src/adapters/local/directory-stek-store.js';
import { MemoryStekLocks } from '../../src/adapters/memory/memory-stek-locks.js';
import { MemoryStekStore } from '../../src/adapters/memory/memory-stek-store.js';
import { STEK_TAG_KEY } from '../../src/config/shared-names.js';
import {
  DEFAULT_STEK_POLICY,
  EMPTY_RING,
  rotateRing,
  type StekRing,
} from '../../src/core/stek-ring.js';
import type { StekLocks, StekSetStore } from '../../src/ports/stek-store.js';
import { type DynaliteEnv, freshTableName, useDynaliteEnv } from '../support/aws-env.js';
import { freshMotoPerTest } from '../support/moto.js';

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const random = (n: number) => new Uint8Array(randomBytes(n));

function rings(): StekRing[] {
  const first = rotateRing(EMPTY_RING, T0, DEFAULT_STEK_POLICY, random).ring;
  const second = rotateRing(
    first,
    T0 + DEFAULT_STEK_POLICY.periodMs,
    DEFAULT_STEK_POLICY,
    random,
  ).ring;
  return [first, second];
}

function sameRing(a: StekRing | undefined, b: StekRing): boolean {
  if (!a || a.generation !== b.generation || a.keys.length !== b.keys.length) return false;
  return a.keys.every((key, i) => {
    const other = b.keys[i];
    return (
      other !== undefined &&
      key.serial === other.serial &&
      key.encryptsFrom === other.encryptsFrom &&
      key.dropAt === other.dropAt &&
      key.material.equals(other.material)
    );
  });
}

function describeStoreContract(name: string, make: () => Promise<StekSetStore>) {
  describe(`${name} (StekSetStore contract)`, () => {
    let store: StekSetStore;
    beforeEach(async () => {
      store = await make();
    });

    it('reads undefined for a set never written', async () => {
      expect(await store.read('certloop/stek/never')).toBeUndefined();
    });

    it('publishes a ring and reads it back byte for byte', async () => {
      const [first] = rings();
      expect(await store.write('certloop/stek/web', first as StekRing, 'g1')).toEqual({
        created: true,
      });
      expect(sameRing(await store.read('certloop/stek/web'), first as StekRing)).toBe(true);
    });

    it('creates nothing for a repeated token, and the first ring under a token wins', async () => {
      const [first, second] = rings() as [StekRing, StekRing];
      await store.write('certloop/stek/web', first, 'g1');
      const other = { ...rings()[0], generation: 1 } as StekRing;
      expect(await store.write('certloop/stek/web', other, 'g1')).toEqual({ created: false });
      expect(sameRing(await store.read('certloop/stek/web'), first)).toBe(true);
      expect(await store.write('certloop/stek/web', second, 'g2')).toEqual({ created: true });
      expect(sameRing(await store.read('certloop/stek/web'), second)).toBe(true);
    });

    it('never rolls back to an older generation, whatever the token', async () => {
      const [first, second] = rings() as [StekRing, StekRing];
      await store.write('certloop/stek/web', second, 'g2');
      expect(await store.write('certloop/stek/web', first, 'late')).toEqual({ created: false });
      expect(sameRing(await store.read('certloop/stek/web'), second)).toBe(true);
    });

    it('keeps sets apart', async () => {
      const [first, second] = rings() as [StekRing, StekRing];
      await store.write('certloop/stek/a', first, 'g1');
      await store.write('certloop/stek/b', second, 'g2');
      expect(sameRing(await store.read('certloop/stek/a'), first)).toBe(true);
      expect(sameRing(await store.read('certloop/stek/b'), second)).toBe(true);
    });
  });
}

function describeLocksContract(name: string, make: () => Promise<StekLocks>) {
  describe(`${name} (StekLocks contract)`, () => {
    let locks: StekLocks;
    beforeEach(async () => {
      locks = await make();
    });

    it('gives the lease to one owner until it expires, with a growing version', async () => {
      const first = await locks.acquire('web', 'a', T0, 1000);
      expect(first).toMatchObject({ setId: 'web', owner: 'a', until: T0 + 1000 });
      expect(await locks.acquire('web', 'b', T0 + 500, 1000)).toBeUndefined();
      expect(await locks.acquire('web', 'a', T0 + 500, 1000)).toBeUndefined();
      const second = await locks.acquire('web', 'b', T0 + 1001, 1000);
      expect(second?.version).toBeGreaterThan(first?.version ?? Number.POSITIVE_INFINITY);
    });

    it('commits only under the current version, and keeps what was committed', async () => {
      const first = await locks.acquire('web', 'a', T0, 1000);
      const second = await locks.acquire('web', 'b', T0 + 2000, 1000);
      await expect(
        locks.commit('web', first?.version ?? 0, { lastRotatedAt: T0, ringVersion: 1 }),
      ).rejects.toMatchObject({ kind: 'conflict' });
      await locks.commit('web', second?.version ?? 0, { lastRotatedAt: T0 + 2000, ringVersion: 2 });
      await locks.release('web', second?.version ?? 0);
      const third = await locks.acquire('web', 'c', T0 + 2001, 1000);
      expect(third).toMatchObject({ lastRotatedAt: T0 + 2000, ringVersion: 2 });
    });

    it('releases only its own lease', async () => {
      const first = await locks.acquire('web', 'a', T0, 1000);
      const second = await locks.acquire('web', 'b', T0 + 2000, 1000);
      await locks.release('web', first?.version ?? 0); // stale: no effect, no error
      expect(await locks.acquire('web', 'c', T0 + 2001, 1000)).toBeUndefined();
      await locks.release('web', second?.version ?? 0);
      expect(await locks.acquire('web', 'c', T0 + 2001, 1000)).toBeDefined();
    });
  });
}

describeStoreContract('MemoryStekStore', async () => new MemoryStekStore());
describeLocksContract('MemoryStekLocks', async () => new MemoryStekLocks());

describe('DirectoryStekStore', () => {
  const roots: string[] = [];
  afterAll(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });
  const make = async () => {
    const root = await mkdtemp(join(tmpdir(), 'certloop-stek-'));
    roots.push(root);
    return new DirectoryStekStore({ root });
  };
  describeStoreContract('DirectoryStekStore', make);

  it('keeps the ring in <root>/stek/<set>.json, mode 0600, no temp files left', async () => {
    const store = await make();
    await store.write('certloop/stek/web', rings()[0] as StekRing, 'g1');
    const file = store.fileOf('certloop/stek/web');
    expect(file).toBe(join(store.root, 'stek', 'certloop%2Fstek%2Fweb.json'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ format: 1, generation: 1 });
  });
});

describe('on moto', () => {
  const freshMoto = freshMotoPerTest();
  const clients: SecretsManagerClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.destroy();
  });
  const make = async () => {
    await freshMoto();
    const client = new SecretsManagerClient({});
    clients.push(client);
    return new SecretsManagerStekStore({ client });
  };
  describeStoreContract('SecretsManagerStekStore on moto', make);

  it('creates the secret with the certloop:stek tag on first write', async () => {
    const store = await make();
    await store.write('certloop/stek/tagged', rings()[0] as StekRing, 'g1');
    const described = await (clients[0] as SecretsManagerClient).send(
      new DescribeSecretCommand({ SecretId: 'certloop/stek/tagged' }),
    );
    expect(described.Tags).toContainEqual({ Key: STEK_TAG_KEY, Value: 'certloop/stek/tagged' });
  });

  it('refuses a secret that is not tagged as a STEK set', async () => {
    const store = await make();
    await (clients[0] as SecretsManagerClient).send(
      new CreateSecretCommand({ Name: 'certloop/cert/web', SecretString: '{}' }),
    );
    await expect(
      store.write('certloop/cert/web', rings()[0] as StekRing, 'g1'),
    ).rejects.toMatchObject({ kind: 'permanent' });
  });
});

describe('on dynalite', () => {
  let dynalite: DynaliteEnv | undefined;
  beforeAll(async () => {
    dynalite = await useDynaliteEnv();
  });
  afterAll(async () => {
    await dynalite?.teardown();
  });
  describeLocksContract('DynamoDbStekLocks on dynalite', async () => {
    if (!dynalite) throw new Error('dynalite did not start');
    const tableName = freshTableName('certloop-stek');
    await ensureTable(dynalite.client, tableName);
    return new DynamoDbStekLocks({ client: dynalite.client, tableName });
  });
});
