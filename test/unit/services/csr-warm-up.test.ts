import { beforeEach, describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../../src/adapters/crypto/node-key-factory.js';
import { MemoryDns01Solver } from '../../../src/adapters/memory/memory-dns01-solver.js';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../../src/adapters/memory/memory-secret-store.js';
import type { KeyMaterial } from '../../../src/core/key-material.js';
import type { KeyType } from '../../../src/core/key-type.js';
import { MINUTE } from '../../../src/core/time.js';
import type { Dns01Challenge } from '../../../src/ports/acme-ca.js';
import type { KeyFactory } from '../../../src/ports/key-factory.js';
import { type IssuanceDeps, issueCertificates } from '../../../src/services/issue-certificates.js';
import { FakeAcmeCa } from '../../support/fake-acme-ca.js';
import { ManualClock } from '../../support/manual-clock.js';
import { aRecord } from '../../support/record-builder.js';
import { RecordingLogger } from '../../support/test-loggers.js';

/** Real keys and CSRs; a journal of when the warm-up ran against the DNS steps. */
class JournalKeys implements KeyFactory {
  readonly #inner = new NodeKeyFactory();
  constructor(
    readonly journal: string[],
    readonly failWarmUp = false,
  ) {}
  generate(keyType: KeyType): Promise<KeyMaterial> {
    return this.#inner.generate(keyType);
  }
  createCsr(key: KeyMaterial, domains: string[]): Promise<string> {
    this.journal.push('csr');
    return this.#inner.createCsr(key, domains);
  }
  async warmUp(): Promise<void> {
    this.journal.push('warm-up');
    if (this.failWarmUp) throw new Error('warm-up broke');
  }
}

/** The fake CA, with a pending DNS-01 challenge on every order (its own are all ready). */
class ChallengingCa extends FakeAcmeCa {
  readonly #pending = new Map<string, string>();
  override async placeOrder(request: { domains: string[]; replaces?: string }) {
    const state = await super.placeOrder(request);
    this.#pending.set(state.url, state.domains[0] as string);
    return { ...state, status: 'pending' as const };
  }
  override async getOrder(url: string) {
    const state = await super.getOrder(url);
    return this.#pending.has(url) ? { ...state, status: 'pending' as const } : state;
  }
  override async pendingDns01Challenges(orderUrl: string) {
    const name = this.#pending.get(orderUrl);
    if (name === undefined) return [];
    return [
      {
        identifier: name,
        recordName: `_acme-challenge.${name}`,
        recordValue: `value-for-${name}`,
        challengeUrl: `${orderUrl}/challenge`,
        authorizationUrl: `${orderUrl}/authz`,
      },
    ];
  }
  override async answerChallenges(challenges: Dns01Challenge[]) {
    for (const c of challenges) this.#pending.delete(c.challengeUrl.replace(/\/challenge$/, ''));
  }
}

/** The in-memory solver, journaling its wait's start and end. */
class JournalDns extends MemoryDns01Solver {
  constructor(readonly journal: string[]) {
    super();
  }
  override async waitForPropagation(records: Parameters<MemoryDns01Solver['present']>[0]) {
    this.journal.push('dns-wait');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await super.waitForPropagation(records);
    this.journal.push('dns-visible');
  }
}

describe('issueCertificates warms the CSR maker up while it waits for DNS', () => {
  let clock: ManualClock;
  let records: MemoryRecordStore;
  let journal: string[];

  function deps(keys: KeyFactory): IssuanceDeps {
    const ca = new ChallengingCa(clock);
    return {
      records,
      secrets: new MemorySecretStore(),
      issuers: (name) => (name === 'default' ? ca : undefined),
      dns: new JournalDns(journal),
      keys,
      clock,
      logger: new RecordingLogger(),
      random: () => 0.5,
      policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
      owner: 'warm-up-test',
      leaseMs: 5 * MINUTE,
      concurrency: 2,
      ariCertificateId: ariCertificateIdOf,
    };
  }

  beforeEach(async () => {
    clock = new ManualClock();
    records = new MemoryRecordStore();
    journal = [];
    for (const id of ['a', 'b']) {
      await records.create(aRecord({ id, domains: [`${id}.example.test`], nextAttemptAt: 0 }));
    }
  });

  it('starts the warm-up once per batch, inside the wait, before any CSR', async () => {
    const outcomes = await issueCertificates(deps(new JournalKeys(journal)), ['a', 'b']);
    expect(outcomes.map((o) => o.outcome)).toEqual(['issued', 'issued']);
    expect(journal).toEqual(['dns-wait', 'warm-up', 'dns-visible', 'csr', 'csr']);
  });

  it('does not blame DNS for a failed warm-up: the batch still issues', async () => {
    const outcomes = await issueCertificates(deps(new JournalKeys(journal, true)), ['a', 'b']);
    expect(outcomes.map((o) => o.outcome)).toEqual(['issued', 'issued']);
  });
});
