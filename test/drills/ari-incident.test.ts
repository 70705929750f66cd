/**
 * Drill R6, the CA incident: 10,000 certificates, and the CA moves the renewal windows of
 * 1,000 listed serials into the past (how a mass revocation reaches clients through
 * ACME Renewal Information, RFC 9773).
 *
 * What it proves: with ARI, the real planner (order budget 300 per 3 h, ARI checks and
 * exempt renewals outside it) and the real issuance service renew exactly those 1,000
 * within 12 hours of simulated time, each order carrying `replaces` with the certificate
 * it replaces, and order nothing else. Against a CA without ARI, the operator's answer
 * (a forced renewal of the serial list, as `certloop renew --serial ...` does) replaces
 * them too, within the budget: at most 300 orders in any 3-hour window.
 *
 * Setup: the 10,000 90-day certificates were issued over the last 50 days (so none is
 * due by the lifetime rule in the next 12 hours); their records hold the ARI state the
 * worker would have stored (a window and an instant inside it, the next check within 6
 * hours), and the in-process CA (test/support/fake-acme-ca.ts) knows them. Only the
 * renewals are real issuances (keys, CSRs, X.509 checks), on a manual clock; the stores
 * are in memory. The planner runs every 5 minutes, and the worker takes what it queued.
 *
 * Run: npx vitest run --project drill test/drills/ari-incident.test.ts (about 30-60 s).
 * It prints the report.
 */
import { describe, expect, it } from 'vitest';
import { ariCertificateIdOf } from '../../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../../src/adapters/crypto/node-key-factory.js';
import { MemoryControlRecords } from '../../src/adapters/memory/memory-control-records.js';
import { MemoryDns01Solver } from '../../src/adapters/memory/memory-dns01-solver.js';
import { MemoryRecordStore } from '../../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../../src/adapters/memory/memory-secret-store.js';
import { MemoryWorkQueue } from '../../src/adapters/memory/memory-work-queue.js';
import { DEFAULT_ORDER_BUDGET, maxInAnyWindow } from '../../src/core/renewal-budget.js';
import { applyRenewalInfo, ariCertificateId } from '../../src/core/renewal-info.js';
import { chooseRenewalTime, lifetimeRenewalTime } from '../../src/core/renewal-window.js';
import { DAY, HOUR, MINUTE } from '../../src/core/time.js';
import { forceRenewal } from '../../src/services/force-renewal.js';
import { type IssuanceDeps, issueCertificates } from '../../src/services/issue-certificates.js';
import { planDueWork } from '../../src/services/plan-due-work.js';
import { FakeAcmeCa } from '../support/fake-acme-ca.js';
import { ManualClock, seededRandom } from '../support/manual-clock.js';
import { aRecord } from '../support/record-builder.js';
import { silentLogger } from '../support/test-loggers.js';

const FLEET = 10_000;
const AFFECTED = 1_000;
const LIFETIME = 90 * DAY;
const PLANNER_PERIOD = 5 * MINUTE;
const AKI = Uint8Array.from({ length: 20 }, (_, i) => i + 1);

async function incident(options: { ari: boolean }) {
  const clock = new ManualClock(Date.UTC(2026, 11, 4, 12));
  const start = clock.now();
  const random = seededRandom(9773);
  const records = new MemoryRecordStore();
  const control = new MemoryControlRecords();
  const queue = new MemoryWorkQueue();
  const ca = new FakeAcmeCa(clock, LIFETIME, 'Incident CA', { ari: options.ari });
  const serialOf = (i: number) => (0x10_0000 + i).toString(16);
  for (let i = 0; i < FLEET; i++) {
    const serial = serialOf(i);
    const notBefore = start - Math.floor((i / FLEET) * 50 * DAY) - HOUR;
    const current = {
      serial,
      notBefore,
      notAfter: notBefore + LIFETIME,
      domains: [`c${i}.example.test`],
      keyType: 'ec-p256' as const,
      issuer: 'default',
      issuedAt: notBefore,
    };
    const lifetime = chooseRenewalTime(current, random);
    const certId = ariCertificateId(AKI, serial);
    ca.adopt({ certId, serial, notBefore, notAfter: current.notAfter });
    const ari = options.ari
      ? applyRenewalInfo(
          {
            certId,
            validity: current,
            lifetimeRenewAt: lifetime.renewAt,
            now: start,
            random,
          },
          {
            answer: {
              window: {
                start: lifetimeRenewalTime(current, 1 / 30),
                end: lifetimeRenewalTime(current, 0),
              },
            },
          },
        )
      : undefined;
    // the next check falls anywhere in the next 6 hours, as it would in a running fleet
    const checkAt = start + Math.floor(random() * 6 * HOUR);
    await records.create(
      aRecord({
        id: `c${i}`,
        domains: current.domains,
        status: 'active',
        current,
        renewAt: ari?.renewAt ?? lifetime.renewAt,
        renewJitter: lifetime.jitter,
        renewalRule: ari?.rule ?? lifetime.rule,
        ...(ari?.ari ? { ari: { ...ari.ari, checkAt } } : {}),
        nextAttemptAt: ari?.ari ? Math.min(checkAt, ari.renewAt) : lifetime.renewAt,
      }),
    );
  }
  const affected = Array.from({ length: AFFECTED }, (_, k) => serialOf(k * 10 + 3));
  const affectedIds = new Set(
    affected.map((serial) => `c${Number.parseInt(serial, 16) - 0x10_0000}`),
  );
  const issuance: IssuanceDeps = {
    records,
    secrets: new MemorySecretStore(),
    issuers: (name) => (name === 'default' ? ca : undefined),
    dns: new MemoryDns01Solver(),
    keys: new NodeKeyFactory(),
    clock,
    logger: silentLogger,
    random,
    policy: { allowedSuffixes: ['example.test'], maxNames: 100 },
    owner: 'incident-worker',
    leaseMs: 15 * MINUTE,
    concurrency: 25,
    ariCertificateId: ariCertificateIdOf,
  };
  const planner = {
    records,
    queue,
    clock,
    logger: silentLogger,
    budget: DEFAULT_ORDER_BUDGET,
    control,
    exemptIssuers: new Set(options.ari ? ['default'] : []),
  };
  const orderTimes: number[] = [];
  const replacedBy = new Map<string, number>();
  const ordersBefore = ca.orderTimes.length;
  /** Planner every 5 minutes, the worker takes everything queued, until `until`. */
  async function run(until: number) {
    let noOrder = 0;
    let exemptOrders = 0;
    while (clock.now() < until) {
      const plan = await planDueWork(planner, 10_000);
      noOrder += plan.noOrder;
      exemptOrders += plan.exemptOrders;
      const ids = queue.take(queue.items.length).map((item) => item.id);
      for (let i = 0; i < ids.length; i += 50) {
        for (const outcome of await issueCertificates(issuance, ids.slice(i, i + 50))) {
          if (outcome.outcome === 'issued') {
            orderTimes.push(clock.now());
            if (!replacedBy.has(outcome.id)) replacedBy.set(outcome.id, clock.now() - start);
          }
        }
      }
      clock.advance(PLANNER_PERIOD);
    }
    return { noOrder, exemptOrders };
  }
  return {
    clock,
    start,
    ca,
    records,
    control,
    affected,
    affectedIds,
    run,
    orderTimes,
    replacedBy,
    ordersBefore,
  };
}

describe('drill R6: a CA incident reaches the fleet as renewal information', () => {
  it('replaces exactly the 1,000 listed certificates of 10,000 within 12 hours, each with replaces, ordering nothing else', async () => {
    const drill = await incident({ ari: true });
    const moved = drill.ca.moveWindows(drill.affected, {
      start: drill.start - 2 * HOUR,
      end: drill.start - HOUR,
    });
    expect(moved).toBe(AFFECTED);

    const started = performance.now();
    const counts = await drill.run(drill.start + 12 * HOUR);
    const seconds = (performance.now() - started) / 1000;

    const renewed = [...drill.replacedBy.keys()];
    expect(new Set(renewed)).toEqual(drill.affectedIds);
    expect(drill.ca.orderTimes.length - drill.ordersBefore).toBe(AFFECTED);
    const replaces = drill.ca.replaces.slice(drill.ordersBefore);
    expect(replaces.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(replaces).size).toBe(AFFECTED);
    const latest = Math.max(...drill.replacedBy.values());
    expect(latest).toBeLessThanOrEqual(12 * HOUR);
    // ARI checks and exempt renewals never touched the order budget
    const ledger = await drill.control.get<{ entries: unknown[] }>('order-ledger');
    expect(ledger?.value.entries ?? []).toEqual([]);
    console.log(
      `drill R6 (ARI): ${FLEET} certificates, ${AFFECTED} windows moved into the past; ` +
        `${renewed.length} renewed with replaces, all within ${(latest / HOUR).toFixed(2)} h of simulated time; ` +
        `${drill.ca.orderTimes.length - drill.ordersBefore} orders in all, ${counts.exemptOrders} exempt from the budget; ` +
        `${drill.ca.renewalInfoRequests} renewalInfo requests (${counts.noOrder} checks queued); ${seconds.toFixed(1)} s`,
    );
  }, 600_000);

  it('without ARI, a forced renewal of the serial list replaces the same 1,000 within the order budget', async () => {
    const drill = await incident({ ari: false });
    const report = await forceRenewal(
      {
        records: drill.records,
        control: drill.control,
        clock: drill.clock,
        logger: silentLogger,
        budget: DEFAULT_ORDER_BUDGET,
      },
      { selector: { serials: drill.affected }, reason: 'CA incident notice', dryRun: false },
    );
    expect(report.scheduled).toBe(AFFECTED);
    expect(report.unknownSerials).toEqual([]);

    const started = performance.now();
    await drill.run(drill.start + 16 * HOUR);
    const seconds = (performance.now() - started) / 1000;

    expect(new Set(drill.replacedBy.keys())).toEqual(drill.affectedIds);
    expect(drill.ca.orderTimes.length - drill.ordersBefore).toBe(AFFECTED);
    expect(drill.ca.replaces.slice(drill.ordersBefore).every((id) => id === undefined)).toBe(true);
    const perWindow = maxInAnyWindow(drill.orderTimes, DEFAULT_ORDER_BUDGET.windowMs);
    expect(perWindow).toBeLessThanOrEqual(DEFAULT_ORDER_BUDGET.orders);
    const latest = Math.max(...drill.replacedBy.values());
    console.log(
      `drill R6 (no ARI, forced by serial list): ${AFFECTED} of ${FLEET} replaced within ${(latest / HOUR).toFixed(2)} h; ` +
        `at most ${perWindow} orders in any 3 h window (budget ${DEFAULT_ORDER_BUDGET.orders}); ${seconds.toFixed(1)} s`,
    );
  }, 600_000);
});
