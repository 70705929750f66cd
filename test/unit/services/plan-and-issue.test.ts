import { beforeEach, describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../../src/adapters/crypto/node-key-factory.js';
import { MemoryControlRecords } from '../../../src/adapters/memory/memory-control-records.js';
import { MemoryDns01Solver } from '../../../src/adapters/memory/memory-dns01-solver.js';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../../src/adapters/memory/memory-secret-store.js';
import { MemoryWorkQueue } from '../../../src/adapters/memory/memory-work-queue.js';
import type { OrderBudget } from '../../../src/core/renewal-budget.js';
import { HOUR, MINUTE } from '../../../src/core/time.js';
import type { IssuanceDeps } from '../../../src/services/issue-certificates.js';
import { planAndIssue } from '../../../src/services/plan-and-issue.js';
import {
  ORDER_LEDGER,
  type OrderLedgerDocument,
  planDueWork,
} from '../../../src/services/plan-due-work.js';
import { FakeAcmeCa } from '../../support/fake-acme-ca.js';
import { ManualClock } from '../../support/manual-clock.js';
import { aRecord } from '../../support/record-builder.js';
import { RecordingLogger } from '../../support/test-loggers.js';

const BUDGET: OrderBudget = { orders: 3, windowMs: 3 * HOUR, slackMs: 10 * MINUTE };
const PASS = { batchSize: 2, maxRecords: 100 };

describe('planAndIssue: the planner admission, then the worker batches, in one process', () => {
  let clock: ManualClock;
  let records: MemoryRecordStore;
  let control: MemoryControlRecords;
  let logger: RecordingLogger;
  let ca: FakeAcmeCa;
  let issuance: IssuanceDeps;

  beforeEach(async () => {
    clock = new ManualClock();
    records = new MemoryRecordStore();
    control = new MemoryControlRecords();
    logger = new RecordingLogger();
    ca = new FakeAcmeCa(clock);
    issuance = {
      records,
      secrets: new MemorySecretStore(),
      issuers: (name) => (name === 'default' ? ca : undefined),
      dns: new MemoryDns01Solver(),
      keys: new NodeKeyFactory(),
      clock,
      logger,
      random: () => 0.5,
      policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
      owner: 'local-tick',
      leaseMs: 5 * MINUTE,
      concurrency: 2,
      ariCertificateId: ariCertificateIdOf,
    };
    // Five due records; 'e' has waited longest, 'a' the least.
    for (const [i, id] of ['a', 'b', 'c', 'd', 'e'].entries()) {
      await records.create(
        aRecord({ id, domains: [`${id}.example.test`], nextAttemptAt: clock.now() - i * MINUTE }),
      );
    }
  });

  it('issues the earliest due records the budget admits and leaves the rest due', async () => {
    const report = await planAndIssue({ issuance, control, budget: BUDGET }, PASS);

    expect(report).toMatchObject({ due: 5, heldByBudget: 2, inFlight: 0 });
    expect(report.outcomes.map((o) => [o.id, o.outcome])).toEqual([
      ['e', 'issued'],
      ['d', 'issued'],
      ['c', 'issued'],
    ]);
    expect(report.counts).toMatchObject({ issued: 3, failed: 0, busy: 0 });
    expect(ca.orderTimes).toHaveLength(3);
    expect((await records.get('a'))?.status).toBe('pending');
    expect((await records.get('b'))?.status).toBe('pending');
    expect(logger.lines.at(-1)).toMatchObject({
      message: 'tick finished',
      fields: { due: 5, heldByBudget: 2, issued: 3, rule: 'BudgetExhausted', budgetUsed: 0 },
    });
  });

  it('counts its admissions in the same order ledger as the deployed planner', async () => {
    const start = clock.now();
    await planAndIssue({ issuance, control, budget: BUDGET }, PASS);
    expect((await control.get<OrderLedgerDocument>(ORDER_LEDGER))?.value.entries).toEqual([
      { at: start, count: 3 },
    ]);

    // A planner on the same ledger finds the budget spent: nothing goes to its queue.
    clock.advance(MINUTE);
    const queue = new MemoryWorkQueue();
    const plan = await planDueWork(
      { records, queue, clock, logger, budget: BUDGET, control },
      PASS.maxRecords,
    );
    expect(plan).toMatchObject({ due: 2, enqueued: 0, heldByBudget: 2 });
    expect(queue.items).toEqual([]);
  });

  it('does not work again on an admitted record nobody moved until the budget slack has passed', async () => {
    // 'e' is leased by a worker elsewhere: this pass finds it busy and leaves it as it is.
    const held = await records.acquireLease('e', 'elsewhere', clock.now(), HOUR);
    expect(held).toBeDefined();
    const budget: OrderBudget = { ...BUDGET, orders: 100 };

    const first = await planAndIssue({ issuance, control, budget }, PASS);
    expect(first.outcomes.find((o) => o.id === 'e')?.outcome).toBe('busy');
    expect(first.counts).toMatchObject({ issued: 4, busy: 1 });

    clock.advance(BUDGET.slackMs - MINUTE);
    const within = await planAndIssue({ issuance, control, budget }, PASS);
    expect(within).toMatchObject({ due: 1, inFlight: 1, heldByBudget: 0, outcomes: [] });

    clock.advance(2 * MINUTE);
    const after = await planAndIssue({ issuance, control, budget }, PASS);
    expect(after).toMatchObject({ due: 1, inFlight: 0 });
    expect(after.outcomes.map((o) => [o.id, o.outcome])).toEqual([['e', 'busy']]);
  });
});
