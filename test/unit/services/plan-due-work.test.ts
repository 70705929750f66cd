import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryControlRecords } from '../../../src/adapters/memory/memory-control-records.js';
import { MemoryRecordStore } from '../../../src/adapters/memory/memory-record-store.js';
import { MemoryWorkQueue } from '../../../src/adapters/memory/memory-work-queue.js';
import { CertloopError } from '../../../src/core/errors.js';
import { admissionSpan } from '../../../src/core/order-ledger.js';
import { DEFAULT_ORDER_BUDGET, maxInAnyWindow } from '../../../src/core/renewal-budget.js';
import { DAY, HOUR, MINUTE, SECOND } from '../../../src/core/time.js';
import type { ControlRecords } from '../../../src/ports/control-records.js';
import type { WorkQueue } from '../../../src/ports/work-queue.js';
import {
  ORDER_LEDGER,
  type OrderLedgerDocument,
  type PlannerDeps,
  planDueWork,
} from '../../../src/services/plan-due-work.js';
import { ManualClock } from '../../support/manual-clock.js';
import { aRecord } from '../../support/record-builder.js';
import { RecordingLogger } from '../../support/test-loggers.js';

const SPAN = admissionSpan(DEFAULT_ORDER_BUDGET); // 3 h 10 min
const PERIOD = 5 * MINUTE;

/** Counts conditional-write conflicts of the ledger, so a test can show the race happened. */
class CountingControl implements ControlRecords {
  conflicts = 0;
  constructor(readonly inner: ControlRecords) {}
  get<T>(name: string) {
    return this.inner.get<T>(name);
  }
  async put<T>(name: string, value: T, expectedVersion: number | undefined) {
    try {
      return await this.inner.put(name, value, expectedVersion);
    } catch (error) {
      if (error instanceof CertloopError && error.kind === 'conflict') this.conflicts += 1;
      throw error;
    }
  }
}

describe('planDueWork within the order budget', () => {
  let clock: ManualClock;
  let records: MemoryRecordStore;
  let control: MemoryControlRecords;
  let logger: RecordingLogger;

  function planner(queue: WorkQueue = new MemoryWorkQueue(), store: ControlRecords = control) {
    const deps: PlannerDeps = {
      records,
      queue,
      clock,
      logger,
      budget: DEFAULT_ORDER_BUDGET,
      control: store,
    };
    return deps;
  }

  /** What a worker does with an admitted record: it is no longer due (renewed). */
  async function work(queue: MemoryWorkQueue) {
    for (const item of queue.take(queue.items.length)) {
      const record = await records.get(item.id);
      if (record)
        await records.put({ ...record, nextAttemptAt: clock.now() + 60 * DAY }, record.version);
    }
  }

  beforeEach(async () => {
    clock = new ManualClock();
    records = new MemoryRecordStore();
    control = new MemoryControlRecords();
    logger = new RecordingLogger();
    // 1,000 due records; record i has waited 1,000 - i seconds (cert-0000 is the oldest).
    for (let i = 0; i < 1000; i++) {
      const id = `cert-${String(i).padStart(4, '0')}`;
      await records.create(aRecord({ id, nextAttemptAt: clock.now() - (1000 - i) * SECOND }));
    }
  });

  it('enqueues the 300 earliest due of 1,000 on the first tick, nothing more until the span has passed, then the next 300', async () => {
    const queue = new MemoryWorkQueue();
    const start = clock.now();
    const first = await planDueWork(planner(queue), 500);
    expect(first).toMatchObject({ due: 500, enqueued: 300, failed: 0, heldByBudget: 200 });
    expect(queue.items.map((item) => item.id)).toEqual(
      Array.from({ length: 300 }, (_, i) => `cert-${String(i).padStart(4, '0')}`),
    );
    expect(logger.lines.at(-1)).toMatchObject({
      message: 'plan finished',
      fields: { rule: 'BudgetExhausted', heldByBudget: 200, budgetUsed: 0 },
    });
    expect((await control.get<OrderLedgerDocument>(ORDER_LEDGER))?.value.entries).toEqual([
      { at: start, count: 300 },
    ]);
    await work(queue);

    const enqueuedAt: number[] = Array(300).fill(start);
    while (clock.now() < start + SPAN - PERIOD) {
      clock.advance(PERIOD);
      const tick = await planDueWork(planner(queue), 500);
      expect(tick).toMatchObject({ due: 500, enqueued: 0, heldByBudget: 500 });
      expect(logger.lines.at(-1)?.fields).toMatchObject({
        rule: 'BudgetExhausted',
        budgetUsed: 300,
        budgetRoomAt: new Date(start + SPAN).toISOString(),
      });
    }
    clock.advance(PERIOD);
    expect(clock.now()).toBe(start + SPAN);
    const later = await planDueWork(planner(queue), 500);
    expect(later).toMatchObject({ due: 500, enqueued: 300, heldByBudget: 200 });
    expect(queue.items[0]?.id).toBe('cert-0300');
    enqueuedAt.push(...Array(300).fill(clock.now()));
    await work(queue);

    // Run out the rest on the planner's schedule: never more than the budget per span.
    while ((await records.findDue(clock.now(), 1)).length > 0) {
      clock.advance(PERIOD);
      const tick = await planDueWork(planner(queue), 500);
      enqueuedAt.push(...Array(tick.enqueued).fill(clock.now()));
      await work(queue);
    }
    expect(enqueuedAt).toHaveLength(1000);
    expect(maxInAnyWindow(enqueuedAt, SPAN)).toBeLessThanOrEqual(300);
    expect(clock.now() - start).toBe(3 * SPAN);
  });

  it('reads no ledger and writes none when nothing is due', async () => {
    clock.set(Date.UTC(2020, 0, 1));
    const gets: string[] = [];
    const store: ControlRecords = {
      get: (name) => {
        gets.push(name);
        return control.get(name);
      },
      put: (name, value, version) => control.put(name, value, version),
    };
    expect(await planDueWork(planner(undefined, store), 500)).toMatchObject({
      due: 0,
      enqueued: 0,
      heldByBudget: 0,
    });
    expect(gets).toEqual([]);
    expect(logger.lines.at(-1)?.fields.rule).toBe('AllDuePlanned');
  });

  it('two planners racing on the same ledger enqueue no more than the budget together', async () => {
    const counting = new CountingControl(control);
    const a = new MemoryWorkQueue();
    const b = new MemoryWorkQueue();
    const [first, second] = await Promise.all([
      planDueWork(planner(a, counting), 500),
      planDueWork(planner(b, counting), 500),
    ]);
    expect(counting.conflicts).toBeGreaterThanOrEqual(1); // they did race
    expect(first.enqueued + second.enqueued).toBe(300);
    expect(a.items.length + b.items.length).toBe(300);
    expect((await control.get<OrderLedgerDocument>(ORDER_LEDGER))?.value.entries).toEqual([
      { at: clock.now(), count: 300 },
    ]);
  });

  it('five planners racing on every tick for a day never exceed the budget in any span', async () => {
    const counting = new CountingControl(control);
    const queues = Array.from({ length: 5 }, () => new MemoryWorkQueue());
    const enqueuedAt: number[] = [];
    const start = clock.now();
    // Records keep coming due: each one renewed comes due again 7 hours later.
    while (clock.now() < start + DAY) {
      const reports = await Promise.all(queues.map((q) => planDueWork(planner(q, counting), 500)));
      for (const report of reports) enqueuedAt.push(...Array(report.enqueued).fill(clock.now()));
      for (const queue of queues) {
        for (const item of queue.take(queue.items.length)) {
          const record = await records.get(item.id);
          if (record)
            await records.put({ ...record, nextAttemptAt: clock.now() + 7 * HOUR }, record.version);
        }
      }
      clock.advance(PERIOD);
    }
    expect(counting.conflicts).toBeGreaterThan(0);
    expect(maxInAnyWindow(enqueuedAt, SPAN)).toBeLessThanOrEqual(300);
    // Maximal too: each span had work due, and the budget was used in full.
    expect(enqueuedAt.length).toBeGreaterThanOrEqual(Math.floor(DAY / SPAN) * 300);
  });

  it('enqueues nothing when the ledger keeps changing under it (BudgetContended)', async () => {
    const busy: ControlRecords = {
      get: (name) => control.get(name),
      put: async () => {
        throw new CertloopError('conflict', 'changed');
      },
    };
    const queue = new MemoryWorkQueue();
    expect(await planDueWork(planner(queue, busy), 500)).toMatchObject({
      due: 500,
      enqueued: 0,
      heldByBudget: 500,
    });
    expect(queue.items).toEqual([]);
    expect(
      logger.lines.some((l) => l.fields.rule === 'BudgetContended' && l.level === 'warn'),
    ).toBe(true);
    expect(logger.lines.at(-1)?.fields.rule).toBe('BudgetContended');
  });

  it('records the admission before enqueueing: a queue failure wastes budget, never overspends it', async () => {
    const broken: WorkQueue = {
      enqueue: async () => {
        throw new CertloopError('infrastructure', 'queue down');
      },
    };
    await expect(planDueWork(planner(broken), 500)).rejects.toThrow('queue down');
    expect((await control.get<OrderLedgerDocument>(ORDER_LEDGER))?.value.entries).toEqual([
      { at: clock.now(), count: 300 },
    ]);
    clock.advance(PERIOD);
    // The 300 count as admitted (in flight until the slack has passed), the rest is held.
    expect(await planDueWork(planner(), 500)).toMatchObject({
      enqueued: 0,
      inFlight: 300,
      heldByBudget: 200,
    });
  });

  it('neither queues nor counts a record again while it waits in the queue; worked-on ones come back at once', async () => {
    // A fleet of 20 due records, and room in the budget for all of them.
    records = new MemoryRecordStore();
    for (let i = 0; i < 20; i++) {
      await records.create(aRecord({ id: `web-${i}`, nextAttemptAt: clock.now() - SECOND }));
    }
    const budget = { ...DEFAULT_ORDER_BUDGET, orders: 1000 };
    const deps = (queue: MemoryWorkQueue) => ({ ...planner(queue), budget });
    const first = new MemoryWorkQueue();
    expect(await planDueWork(deps(first), 20)).toMatchObject({ due: 20, enqueued: 20 });

    // The workers are slow: the next run finds the same 20 due, all still in the queue.
    clock.advance(PERIOD);
    const second = new MemoryWorkQueue();
    expect(await planDueWork(deps(second), 20)).toMatchObject({
      due: 20,
      enqueued: 0,
      inFlight: 20,
      heldByBudget: 0,
    });
    expect(second.items).toEqual([]);
    const counted = (await control.get<OrderLedgerDocument>(ORDER_LEDGER))?.value.entries ?? [];
    expect(counted.reduce((sum, entry) => sum + entry.count, 0)).toBe(20);

    // A worker failed three of them: their retry (a new nextAttemptAt) is due a minute on.
    const failedIds = first.take(3).map((item) => item.id);
    for (const id of failedIds) {
      const record = await records.get(id);
      if (record)
        await records.put({ ...record, nextAttemptAt: clock.now() + MINUTE }, record.version);
    }
    clock.advance(2 * MINUTE);
    const third = new MemoryWorkQueue();
    expect(await planDueWork(deps(third), 20)).toMatchObject({ enqueued: 3, inFlight: 17 });
    expect(third.items.map((item) => item.id).sort()).toEqual([...failedIds].sort());

    // The other 17 were never worked on (their messages were lost): once the slack has
    // passed since their admission they are admitted again; the 3 are still in flight.
    clock.advance(DEFAULT_ORDER_BUDGET.slackMs - PERIOD - 2 * MINUTE + 1);
    const fourth = new MemoryWorkQueue();
    expect(await planDueWork(deps(fourth), 20)).toMatchObject({ enqueued: 17, inFlight: 3 });
  });

  it('fails without enqueueing when the ledger cannot be read', async () => {
    const down: ControlRecords = {
      get: async () => {
        throw new CertloopError('infrastructure', 'table throttled');
      },
      put: async () => 1,
    };
    const queue = new MemoryWorkQueue();
    await expect(planDueWork(planner(queue, down), 500)).rejects.toThrow('table throttled');
    expect(queue.items).toEqual([]);
  });
});

describe('planDueWork with renewal information', () => {
  const NOW = Date.UTC(2026, 11, 4, 12);
  const issued = (issuer: string) => ({
    serial: '0a',
    notBefore: NOW - 60 * DAY,
    notAfter: NOW + 30 * DAY,
    domains: ['a.example.test'],
    keyType: 'ec-p256' as const,
    issuer,
    issuedAt: NOW - 60 * DAY,
  });

  async function fleet(exemptIssuers?: ReadonlySet<string>) {
    const clock = new ManualClock(NOW);
    const records = new MemoryRecordStore();
    const queue = new MemoryWorkQueue();
    const deps: PlannerDeps = {
      records,
      queue,
      clock,
      logger: new RecordingLogger(),
      budget: { ...DEFAULT_ORDER_BUDGET, orders: 2 },
      control: new MemoryControlRecords(),
      ...(exemptIssuers ? { exemptIssuers } : {}),
    };
    const ari = (serial: string) => ({
      certId: `aki.${serial}`,
      checkAt: NOW - MINUTE,
      failures: 0,
    });
    for (let i = 0; i < 5; i++) {
      // due for a renewal information check only: the renewal time is a week away
      await records.create(
        aRecord({
          id: `check-${i}`,
          issuer: 'le',
          status: 'active',
          current: issued('le'),
          renewAt: NOW + 7 * DAY,
          ari: ari(`c${i}`),
          nextAttemptAt: NOW - MINUTE,
        }),
      );
      // due for a renewal that names its predecessor (replaces)
      await records.create(
        aRecord({
          id: `renew-${i}`,
          issuer: 'le',
          status: 'active',
          current: issued('le'),
          renewAt: NOW - HOUR,
          ari: { ...ari(`r${i}`), checkAt: NOW + HOUR },
          nextAttemptAt: NOW - HOUR,
        }),
      );
      // due for a first order
      await records.create(aRecord({ id: `new-${i}`, nextAttemptAt: NOW - 2 * HOUR }));
    }
    return { deps, queue };
  }

  it('queues renewal information checks without spending the order budget', async () => {
    const { deps } = await fleet();
    const report = await planDueWork(deps, 100);
    expect(report.noOrder).toBe(5);
    // the budget of 2 goes to the two earliest orders; 8 orders wait
    expect(report.enqueued).toBe(7);
    expect(report.heldByBudget).toBe(8);
    expect(report.exemptOrders).toBe(0);
  });

  it('admits replacing renewals of an exempt issuer outside the budget, and counts them', async () => {
    const { deps, queue } = await fleet(new Set(['le']));
    const report = await planDueWork(deps, 100);
    expect(report.exemptOrders).toBe(5);
    expect(report.noOrder).toBe(5);
    expect(report.enqueued).toBe(12);
    expect(report.heldByBudget).toBe(3);
    const queued = queue.items.map((item) => item.id);
    expect(queued.filter((id) => id.startsWith('new-'))).toHaveLength(2);
  });

  it('finds checks and exempt renewals behind a full answer of first orders the budget holds', async () => {
    const { deps, queue } = await fleet(new Set(['le']));
    // 40 more first orders, due before everything else: the limit of 10 sees only them
    for (let i = 0; i < 40; i++) {
      await deps.records.create(aRecord({ id: `old-${i}`, nextAttemptAt: NOW - DAY + i }));
    }
    const report = await planDueWork(deps, 10);
    const queued = queue.items.map((item) => item.id);
    // the budget of 2 goes to the two oldest first orders; the other 8 places go to free work
    expect(queued.filter((id) => id.startsWith('old-'))).toEqual(['old-0', 'old-1']);
    expect(queued.filter((id) => !id.startsWith('old-'))).toHaveLength(8);
    // the exempt renewals (due an hour ago) come before the checks (due a minute ago)
    expect(queued.filter((id) => id.startsWith('renew-'))).toHaveLength(5);
    expect(queued.filter((id) => id.startsWith('check-'))).toHaveLength(3);
    expect(report).toMatchObject({ enqueued: 10, exemptOrders: 5, noOrder: 3, heldByBudget: 8 });
  });

  it('without an exempt issuer, looks behind held first orders only for checks', async () => {
    const { deps, queue } = await fleet();
    for (let i = 0; i < 40; i++) {
      await deps.records.create(aRecord({ id: `old-${i}`, nextAttemptAt: NOW - DAY + i }));
    }
    await planDueWork(deps, 10);
    const queued = queue.items.map((item) => item.id);
    expect(queued.filter((id) => id.startsWith('check-'))).toHaveLength(5);
    expect(queued.filter((id) => id.startsWith('renew-'))).toEqual([]);
    expect(queued).toHaveLength(7);
  });

  it('makes one findDue call when the answer is not full', async () => {
    const { deps } = await fleet(new Set(['le']));
    let calls = 0;
    const records = deps.records;
    const counted = Object.assign(Object.create(Object.getPrototypeOf(records)), records);
    const findDue = records.findDue.bind(records);
    counted.findDue = (...args: Parameters<typeof findDue>) => {
      calls += 1;
      return findDue(...args);
    };
    await planDueWork({ ...deps, records: counted }, 100);
    expect(calls).toBe(1);
  });
});
