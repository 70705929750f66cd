import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AcmeClientCa } from '../../src/adapters/acme/acme-client-ca.js';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { DynamoDbRecordStore } from '../../src/adapters/dynamodb/dynamodb-record-store.js';
import { ensureTable } from '../../src/adapters/dynamodb/ensure-table.js';
import { ChalltestsrvDns01Solver } from '../../src/adapters/local/challtestsrv-dns01-solver.js';
import { DirectorySecretStore } from '../../src/adapters/local/directory-secret-store.js';
import { StructuredLogger } from '../../src/adapters/logging/powertools-logger.js';
import type { NamePolicy } from '../../src/core/domain-names.js';
import { type PebbleServer, startPebble } from '../../src/local/pebble-server.js';
import type { AcmeCa } from '../../src/ports/acme-ca.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Dns01Solver } from '../../src/ports/dns01-solver.js';
import type { IssuanceDeps } from '../../src/services/issue-certificates.js';
import {
  type Registration,
  type RegistrationDeps,
  registerCertificate,
} from '../../src/services/register-certificates.js';
import { freshTableName, useDynaliteEnv } from './aws-env.js';
import { ManualClock, seededRandom } from './manual-clock.js';

export const TEST_POLICY: NamePolicy = { allowedSuffixes: ['example.test'], maxNames: 100 };

/** Counts the orders a CA is asked to place, across every worker that shares it. */
export class OrderCounter {
  placed = 0;
  readonly byDomains = new Map<string, number>();

  wrap(ca: AcmeCa): AcmeCa {
    return new Proxy(ca, {
      get: (target, property, receiver) => {
        if (property === 'placeOrder') {
          return async (request: Parameters<AcmeCa['placeOrder']>[0]) => {
            this.placed += 1;
            const key = [...request.domains].sort().join(' ');
            this.byDomains.set(key, (this.byDomains.get(key) ?? 0) + 1);
            return target.placeOrder(request);
          };
        }
        const value = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}

/**
 * The real engine on real peers: dynalite (in memory) for DynamoDB, pebble and
 * pebble-challtestsrv for ACME and DNS-01, a directory secret store in a temp folder,
 * a manual clock starting at the real time (pebble stamps real validity periods).
 */
export interface EngineHarness {
  pebble: PebbleServer;
  clock: ManualClock;
  secretsRoot: string;
  logger: StructuredLogger;
  orders: OrderCounter;
  /** A fresh set of adapters, as one worker process would have (own clients, own owner id). */
  worker(options?: {
    owner?: string;
    ca?: (ca: AcmeCa) => AcmeCa;
    dns?: (dns: Dns01Solver) => Dns01Solver;
    concurrency?: number;
    random?: () => number;
    /** The worker's clock (default: the harness clock), e.g. one clock per drill run. */
    clock?: Clock;
  }): IssuanceDeps;
  registration(): RegistrationDeps;
  register(registration: Registration): Promise<string>;
  records: DynamoDbRecordStore;
  secrets: DirectorySecretStore;
  close(): Promise<void>;
}

export async function startEngineHarness(): Promise<EngineHarness> {
  const dynalite = await useDynaliteEnv();
  const tableName = freshTableName('engine');
  await ensureTable(new DynamoDBClient({}), tableName);
  const pebble = await startPebble();
  const secretsRoot = await mkdtemp(join(tmpdir(), 'certloop-secrets-'));
  const clock = new ManualClock(Date.now());
  const logger = new StructuredLogger({ serviceName: 'certloop-test', level: 'DEBUG' });
  const orders = new OrderCounter();
  const random = seededRandom(20261123);
  const records = new DynamoDbRecordStore({ client: new DynamoDBClient({}), tableName });
  const secrets = new DirectorySecretStore({ root: secretsRoot, clock });
  let workers = 0;

  const registration = (): RegistrationDeps => ({
    records,
    clock,
    logger,
    policy: TEST_POLICY,
    issuerNames: ['default'],
    defaultIssuer: 'default',
  });

  return {
    pebble,
    clock,
    secretsRoot,
    logger,
    orders,
    records,
    secrets,
    worker(options = {}) {
      workers += 1;
      const workerClock = options.clock ?? clock;
      const workerSecrets = new DirectorySecretStore({ root: secretsRoot, clock: workerClock });
      const ca = orders.wrap(
        new AcmeClientCa({
          directoryUrl: pebble.directoryUrl,
          trustedCaPem: pebble.listenerCaPem,
          secrets: workerSecrets,
          keys: new NodeKeyFactory(),
          logger,
        }),
      );
      const dns = new ChalltestsrvDns01Solver({
        managementUrl: pebble.challtestsrvUrl,
        dnsServer: pebble.dnsServer,
      });
      return {
        records: new DynamoDbRecordStore({ client: new DynamoDBClient({}), tableName }),
        secrets: workerSecrets,
        issuers: (name) => (name === 'default' ? (options.ca ? options.ca(ca) : ca) : undefined),
        dns: options.dns ? options.dns(dns) : dns,
        keys: new NodeKeyFactory(),
        clock: workerClock,
        logger,
        random: options.random ?? random,
        policy: TEST_POLICY,
        owner: options.owner ?? `worker-${workers}`,
        leaseMs: 10 * 60_000,
        concurrency: options.concurrency ?? 25,
        ariCertificateId: ariCertificateIdOf,
      };
    },
    registration,
    async register(input) {
      await registerCertificate(registration(), input);
      return input.id;
    },
    async close() {
      await pebble.stop();
      await dynalite.teardown();
      await rm(secretsRoot, { recursive: true, force: true });
    },
  };
}
