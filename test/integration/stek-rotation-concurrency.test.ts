// Eight rotations of one STEK set at the same moment, with the real lease lock on
// dynalite and real ring stores (directory; Secrets Manager on moto): exactly one new
// ring version comes out, and the lock items stay out of the certificate views.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretsManagerStekStore } from '../../src/adapters/aws/secrets-manager-stek-store.js';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { DynamoDbStekLocks } from '../../src/adapters/dynamodb/dynamodb-stek-locks.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { DirectoryStekStore } from '../../src/adapters/local/directory-stek-store.js';
import { DEFAULT_STEK_POLICY } from '../../src/core/stek-ring.js';
import { HOUR } from '../../src/core/time.js';
import type { Logger } from '../../src/ports/logger.js';
import type { StekSetStore } from '../../src/ports/stek-store.js';
import { rotateStekSets, type StekRotationDeps } from '../../src/services/rotate-stek.js';
import { type DynaliteEnv, freshTableName, useDynaliteEnv } from '../support/aws-env.js';
import { ManualClock } from '../support/manual-clock.js';
import { type MotoEnv, useMotoEnv } from '../support/moto.js';

const quiet: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return quiet;
  },
};

let dynalite: DynaliteEnv;
let moto: MotoEnv;
const roots: string[] = [];

beforeAll(async () => {
  dynalite = await useDynaliteEnv();
  moto = await useMotoEnv();
});
afterAll(async () => {
  await moto?.teardown();
  await dynalite?.teardown();
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function race(store: StekSetStore, setId: string, clock: ManualClock, tableName: string) {
  const locks = new DynamoDbStekLocks({ client: dynalite.client, tableName });
  const workers = Array.from(
    { length: 8 },
    (_, i): StekRotationDeps => ({
      store,
      locks,
      clock,
      logger: quiet,
      randomBytes: (n) => new Uint8Array(randomBytes(n)),
      policy: DEFAULT_STEK_POLICY,
      owner: `worker-${i}`,
      leaseMs: 60_000,
    }),
  );
  const reports = await Promise.all(workers.map((deps) => rotateStekSets(deps, [setId])));
  return reports.map((report) => report.sets[0]);
}

describe.each(['directory', 'secrets-manager'] as const)('with the %s store', (kind) => {
  it('eight concurrent rotations publish exactly one new ring version, twice over', async () => {
    const tableName = freshTableName('certloop-stek');
    await ensureTable(dynalite.client, tableName);
    const clock = new ManualClock();
    let store: StekSetStore;
    let versions: () => Promise<number>;
    const setId = `certloop/stek/race-${kind}`;
    if (kind === 'directory') {
      const root = await mkdtemp(join(tmpdir(), 'certloop-stek-race-'));
      roots.push(root);
      const directory = new DirectoryStekStore({ root });
      store = directory;
      versions = async () => (await store.read(setId))?.generation ?? 0;
      // No temp files left behind by anyone.
      versions = ((read) => async () => {
        const entries = await readdir(join(root, 'stek'));
        expect(entries.filter((name) => name.startsWith('+tmp-'))).toEqual([]);
        return read();
      })(versions);
    } else {
      await moto.reset();
      const client = new SecretsManagerClient({});
      store = new SecretsManagerStekStore({ client });
      versions = async () => {
        const listed = await client.send(new ListSecretVersionIdsCommand({ SecretId: setId }));
        return listed.Versions?.length ?? 0;
      };
    }

    const first = await race(store, setId, clock, tableName);
    expect(first.filter((outcome) => outcome?.outcome === 'rotated')).toHaveLength(1);
    expect(first.every((outcome) => outcome?.outcome !== 'failed')).toBe(true);
    expect(await versions()).toBe(1);

    clock.advance(DEFAULT_STEK_POLICY.periodMs);
    const second = await race(store, setId, clock, tableName);
    expect(second.filter((outcome) => outcome?.outcome === 'rotated')).toHaveLength(1);
    expect(second.find((outcome) => outcome?.outcome === 'rotated')).toMatchObject({
      rule: 'NextKeyDue',
      generation: 2,
    });
    expect(await versions()).toBe(2);

    clock.advance(HOUR);
    const third = await race(store, setId, clock, tableName);
    expect(third.filter((outcome) => outcome?.outcome === 'rotated')).toHaveLength(0);
    expect(await versions()).toBe(2);

    // Lock items never show up as certificates or as due work.
    const records = new DynamoDbRecordStore({ client: dynalite.client, tableName });
    expect(await records.list()).toEqual([]);
    expect(await records.findDue(clock.now() + 365 * 24 * HOUR, 100)).toEqual([]);
  });
});
