import { afterAll, beforeAll } from 'vitest';
import { AcmeClientCa, type AcmeClientCaOptions } from '../../src/adapters/acme/acme-client-ca.js';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import type { MemoryRecordStore } from '../../src/adapters/memory/memory-record-store.js';
import type { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import {
  type AcmeFront,
  type AcmeFrontOptions,
  startAcmeFront,
} from '../../src/local/acme-front.js';
import {
  type PebbleOptions,
  type PebbleServer,
  startPebble,
} from '../../src/local/pebble-server.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import { type ManualClock, seededRandom } from './manual-clock.js';
import { silentLogger } from './test-loggers.js';

export interface AcmeFrontFixture {
  front: AcmeFront;
  pebble: PebbleServer;
  /** The front's directory and listener certificate: what an ACME client is given. */
  directoryUrl: string;
  listenerCaPem: string;
  /** challtestsrv, to answer DNS-01 challenges. */
  challtestsrvUrl: string;
  dnsServer: string;
}

export interface UseAcmeFrontOptions extends Omit<AcmeFrontOptions, 'upstream'> {
  /** Options of the pebble behind the front (e.g. `certificateValidityPeriod`). */
  pebble?: PebbleOptions;
}

/**
 * Starts one pebble + challtestsrv and the ACME front before it for the enclosing
 * describe block (or file), and stops both afterwards. Returns a getter, since they exist
 * only once beforeAll ran.
 */
export function useAcmeFront(options: UseAcmeFrontOptions = {}): () => AcmeFrontFixture {
  let fixture: AcmeFrontFixture | undefined;
  let pebble: PebbleServer | undefined;
  let front: AcmeFront | undefined;
  beforeAll(async () => {
    const { pebble: pebbleOptions, ...frontOptions } = options;
    pebble = await startPebble(pebbleOptions);
    front = await startAcmeFront({
      ...frontOptions,
      upstream: { directoryUrl: pebble.directoryUrl, listenerCaPem: pebble.listenerCaPem },
    });
    fixture = {
      front,
      pebble,
      directoryUrl: front.directoryUrl,
      listenerCaPem: front.listenerCaPem,
      challtestsrvUrl: pebble.challtestsrvUrl,
      dnsServer: pebble.dnsServer,
    };
  });
  afterAll(async () => {
    await front?.stop();
    await pebble?.stop();
  });
  return () => {
    if (!fixture) {
      throw new Error('the ACME front is not running: useAcmeFront() getter called outside a test');
    }
    return fixture;
  };
}

/**
 * The issuance service's dependencies against the front, as one worker would have them:
 * the real ACME adapter (fast polling), challtestsrv DNS-01, the real key factory and
 * ARI identifier, in-memory records and secrets, a manual clock.
 */
export function frontIssuance(
  fixture: AcmeFrontFixture,
  parts: {
    records: MemoryRecordStore;
    secrets: MemorySecretStore;
    clock: ManualClock;
    owner: string;
    seed: number;
    ca?: Partial<AcmeClientCaOptions>;
  },
): IssuanceDeps {
  const ca = new AcmeClientCa({
    directoryUrl: fixture.directoryUrl,
    trustedCaPem: fixture.listenerCaPem,
    secrets: parts.secrets,
    keys: new NodeKeyFactory(),
    polling: { attempts: 20, minDelayMs: 100, maxDelayMs: 500 },
    ...parts.ca,
  });
  return {
    records: parts.records,
    secrets: parts.secrets,
    issuers: (name) => (name === 'default' ? ca : undefined),
    dns: new ChalltestsrvDns01Solver({
      managementUrl: fixture.challtestsrvUrl,
      dnsServer: fixture.dnsServer,
    }),
    keys: new NodeKeyFactory(),
    clock: parts.clock,
    logger: silentLogger,
    random: seededRandom(parts.seed),
    policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
    owner: parts.owner,
    leaseMs: 15 * 60_000,
    concurrency: 4,
    ariCertificateId: ariCertificateIdOf,
  };
}
