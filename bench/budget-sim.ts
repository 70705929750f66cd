/**
 * P4 CA budget simulation. Run: `npx tsx bench/budget-sim.ts [--quick] [--worker service|core]
 * [--worker-delay-seconds n] [--seed n] [--days n] [--lifetime-hours h] [--ari-exempt]`, or
 * `npx tsx bench/budget-lifetimes.ts [--quick]` for the per-lifetime table. Prints the
 * figures and the target verdicts.
 *
 * The scenario (the worst case: a whole fleet onboarded at once): `certificates`
 * certificates of 90 days are registered at day 0 through the real `registerCertificate`
 * service, then `days` days are simulated on a manual clock:
 * - every 5 minutes the real `planDueWork` runs with the CA's order budget, on the memory
 *   record store, the memory control records (its order ledger) and a memory work queue;
 * - the "worker" takes what was enqueued, `workerDelayMs` after the planner run (default
 *   0, at most the budget's slack: beyond it the budget no longer covers the orders), and
 *   issues it. An order counts at the instant the worker places it. A delay longer than
 *   the planner period means the next run finds the same records still due and still in
 *   the queue: the ledger's in-flight memory (planDueWork) keeps it from queueing and
 *   counting them again. `--quick --worker core --worker-delay-seconds 600` shows what
 *   that memory is worth: 0.6672 with it, 0.6937 without (renewals up to 2.3 hours past
 *   renewAt with it, 2.5 days without); the full size with that delay gives 0.6671.
 *
 * Two workers, both on the real records and the real decisions:
 * - `service` (default with --quick): the real `issueCertificates` service (lease,
 *   re-read, `decideIssuance`, key, order, CSR, finalize, X.509 checks, publish, record)
 *   against the in-process FakeAcmeCa on the manual clock (test/support/fake-acme-ca.ts:
 *   a certificate's notBefore is the clock's now, 90-day lifetime), a memory secret store
 *   and DNS solver. Concurrency 1, so that the random draws happen in a fixed order.
 *   Measured on the 2-core development machine: about 18 ms per issuance (keys, CSRs,
 *   X.509 signing and checks), 71 s for --quick's 3,936 orders; the full size's ~39,000
 *   would take about 12 minutes, too slow for a benchmark, hence:
 * - `core` (default above 2,000 certificates): the same steps without the cryptography: the
 *   real lease (`acquireLease`), the real `decideIssuance`, an order at the clock's now, a
 *   certificate valid from now for 90 days, the real `chooseRenewalTime` and the record
 *   update the service makes on success (status, current, renewAt, renewJitter,
 *   nextAttemptAt = renewAt, failures 0, lease released). The planner and its budget are
 *   the same code in both; `--quick --worker core` and `--quick` print the same figures
 *   (checked by test/unit/services/budget-sim.test.ts at a smaller size). The full size
 *   takes about a minute (51 s; up to 2 minutes on a busy machine), most of it the memory
 *   store's findDue (a linear pass over 10,000 records, 51,841 planner runs).
 *
 * Sizes: full = 10,000 certificates over 180 days with 300 new orders per 3 hours
 * (DEFAULT_ORDER_BUDGET: 10 minutes slack). --quick = 1,000 certificates over 180 days
 * with the budget scaled to the fleet (30 per 3 hours, same window and slack), so the
 * pressure (orders per certificate per window) is the same.
 *
 * Figures:
 * - budget.maxOrdersPer3h: the most orders placed in any window of 3 hours (the budget's
 *   window), over every order of the run (`maxInAnyWindow`). Target <= the budget (300).
 * - budget.latestRenewalFraction: over every renewal order, (when the order was placed -
 *   notBefore of the certificate it replaces) / its lifetime, the largest. Target <= 0.72
 *   (renewal is planned at 2/3 minus up to 4 % jitter; the rest is waiting for budget).
 * Also: orders, renewals, onboarding (registration to the last first certificate), the
 * longest wait of a renewal past its renewAt, planner runs that held work back.
 * Seeded (mulberry32, --seed, default 4): the same command prints the same figures.
 * Nothing prints key material: only counts and durations leave this module.
 *
 * Lifetimes and ARI (`--lifetime-hours h`, `--ari-exempt`, core worker only for ARI):
 * `lifetimeMs` sets the certificates' lifetime (90 days, 45 days, 160 hours: Let's
 * Encrypt's classic, tlsserver and shortlived profiles). With `ari`, the CA offers
 * renewal information and exempts renewals that send `replaces` from its limits (Let's
 * Encrypt): the worker applies the CA's window with the real `applyRenewalInfo` after
 * each issuance (the CA's default window, the last 30th of the lifetime before the
 * lifetime rule, as FakeAcmeCa answers), checks it again when the real `decideIssuance`
 * says a check is due (the CA's Retry-After: `ariRetryAfterMs`, default 24 h, the most
 * certloop accepts, so that the run stays short), and the planner gets the issuer as
 * exempt: renewals are admitted outside the budget, first orders within it.
 * Figures per lifetime: `maxBudgetedPer3h` (orders that count against the CA's limit:
 * all of them without ARI, first orders with it), and `lateRenewals`: renewal orders
 * placed after the lifetime rule + 5 % of the lifetime (`latestOnTime`: 2/3 + 5 % for 90
 * and 45 days, 1/2 + 5 % for 160 hours). Target: 0 wherever the fleet fits the budget.
 * bench/budget-lifetimes.ts runs every lifetime with and without ARI.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import Table from 'cli-table3';
import { ariCertificateIdOf } from '../src/adapters/crypto/ari-certificate-id.js';
import { NodeKeyFactory } from '../src/adapters/crypto/node-key-factory.js';
import { MemoryControlRecords } from '../src/adapters/memory/memory-control-records.js';
import { MemoryDns01Solver } from '../src/adapters/memory/memory-dns01-solver.js';
import { MemoryRecordStore } from '../src/adapters/memory/memory-record-store.js';
import { MemorySecretStore } from '../src/adapters/memory/memory-secret-store.js';
import { MemoryWorkQueue } from '../src/adapters/memory/memory-work-queue.js';
import type { CertificateRecord } from '../src/core/certificate-record.js';
import { nextLook } from '../src/core/certificate-record.js';
import { decideIssuance, replacedCertificate } from '../src/core/issuance-checks.js';
import {
  DEFAULT_ORDER_BUDGET,
  maxInAnyWindow,
  type OrderBudget,
} from '../src/core/renewal-budget.js';
import { applyRenewalInfo } from '../src/core/renewal-info.js';
import {
  chooseRenewalTime,
  lifetimeRenewalTime,
  renewalFraction,
  type ValidityPeriod,
} from '../src/core/renewal-window.js';
import { DAY, HOUR, type Instant, MINUTE, type Random } from '../src/core/time.js';
import type { AcmeCa } from '../src/ports/acme-ca.js';
import type { LogFields, Logger } from '../src/ports/logger.js';
import { type IssuanceDeps, issueCertificates } from '../src/services/issue-certificates.js';
import { planDueWork } from '../src/services/plan-due-work.js';
import { registerCertificate } from '../src/services/register-certificates.js';
import { FakeAcmeCa } from '../test/support/fake-acme-ca.js';
import { ManualClock, seededRandom } from '../test/support/manual-clock.js';

/** The latest on-time renewal of a certificate: its lifetime rule (no jitter) + 5 % of its lifetime. */
export function latestOnTime(validity: ValidityPeriod): Instant {
  return lifetimeRenewalTime(validity, 0) + 0.05 * (validity.notAfter - validity.notBefore);
}

/** P4 targets. */
export const P4_TARGETS = { latestRenewalFraction: 0.72 } as const;

const DEFAULT_LIFETIME = 90 * DAY;
const FULL_FLEET = 10_000;
const PLANNER_PERIOD = 5 * MINUTE;
const MAX_RECORDS_PER_TICK = 500;
const BATCH_SIZE = 50;
const LEASE = 15 * MINUTE;

export type SimWorker = 'service' | 'core';

export interface BudgetSimOptions {
  certificates: number;
  days: number;
  log: (message: string) => void;
  /** Default: DEFAULT_ORDER_BUDGET with `orders` scaled by certificates / 10,000 (at least 1). */
  budget?: OrderBudget;
  /** Default: `service` up to 2,000 certificates, `core` above. */
  worker?: SimWorker;
  /** Delay between a planner run and the worker placing its orders. Default 0; at most the slack. */
  workerDelayMs?: number;
  seed?: number;
  /** Lifetime of every certificate. Default 90 days. */
  lifetimeMs?: number;
  /** The CA offers ARI and exempts renewals that send `replaces` (core worker only). */
  ari?: boolean;
  /** The CA's Retry-After on renewal information. Default 24 h. */
  ariRetryAfterMs?: number;
  /** The planner's records per run. Default 500 (the deployed default). */
  maxRecordsPerTick?: number;
}

export interface BudgetSimResult {
  certificates: number;
  days: number;
  budget: OrderBudget;
  worker: SimWorker;
  workerDelayMs: number;
  lifetimeMs: number;
  ari: boolean;
  /** Most orders in any window of `budget.windowMs` (3 hours). */
  maxOrdersPer3h: number;
  /** Most orders that count against the CA's limit (not exempt) in any window. */
  maxBudgetedPer3h: number;
  /** Renewal orders placed after `latestOnTime` of the certificate they replace. */
  lateRenewals: number;
  /** Renewal information checks made (ARI only). */
  ariChecks: number;
  /** Largest (renewal order placed - notBefore of the replaced certificate) / lifetime. */
  latestRenewalFraction: number;
  orders: number;
  renewals: number;
  /** From registration to the last certificate's first issuance. */
  onboardingMs: number;
  /** Longest time a renewal order came after the replaced certificate's renewAt. */
  maxRenewalWaitMs: number;
  plannerRuns: number;
  /** Planner runs that left due records for later (rule BudgetExhausted). */
  plannerRunsHeld: number;
  /** Most due records one planner run held back. */
  maxHeldByBudget: number;
  /** Wall-clock time the simulation took. */
  wallMs: number;
}

/** The budget the simulation uses for a fleet: the default, its orders scaled to the fleet. */
export function scaledBudget(certificates: number): OrderBudget {
  return {
    ...DEFAULT_ORDER_BUDGET,
    orders: Math.max(1, Math.round((DEFAULT_ORDER_BUDGET.orders * certificates) / FULL_FLEET)),
  };
}

/** What the run knows about each certificate currently held by a record. */
interface Held {
  notBefore: Instant;
  notAfter: Instant;
  renewAt: Instant;
}

/** Counts the planner's rules; everything else is dropped (nothing is printed). */
class PlanCounter implements Logger {
  runs = 0;
  held = 0;
  maxHeld = 0;
  debug(): void {}
  info(message: string, fields?: LogFields): void {
    if (message !== 'plan finished') return;
    this.runs += 1;
    const held = Number(fields?.heldByBudget ?? 0);
    if (held > 0) this.held += 1;
    this.maxHeld = Math.max(this.maxHeld, held);
  }
  warn(): void {}
  error(): void {}
  child(): Logger {
    return this;
  }
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

export async function simulateBudget(options: BudgetSimOptions): Promise<BudgetSimResult> {
  const began = performance.now();
  const budget = options.budget ?? scaledBudget(options.certificates);
  const worker = options.worker ?? (options.certificates <= 2_000 ? 'service' : 'core');
  const workerDelayMs = options.workerDelayMs ?? 0;
  if (workerDelayMs < 0 || workerDelayMs > budget.slackMs) {
    throw new RangeError(`the worker delay must be between 0 and the slack (${budget.slackMs} ms)`);
  }
  const lifetimeMs = options.lifetimeMs ?? DEFAULT_LIFETIME;
  const ari = options.ari ?? false;
  if (ari && worker !== 'core')
    throw new RangeError('the ARI simulation runs with the core worker');
  const clock = new ManualClock();
  const start = clock.now();
  const end = start + options.days * DAY;
  const random = seededRandom(options.seed ?? 4);
  const records = new MemoryRecordStore();
  const control = new MemoryControlRecords();
  const queue = new MemoryWorkQueue();
  const planLog = new PlanCounter();

  const orderTimes: Instant[] = [];
  const budgetedTimes: Instant[] = [];
  const fractions: number[] = [];
  let maxRenewalWaitMs = 0;
  let lateRenewals = 0;
  let lastFirstIssue = start;
  const held = new Map<string, Held>();
  /** The worker places an order for record `id` now; `exempt` when it sends `replaces` to an exempt CA. */
  const placed = (id: string, exempt = false): void => {
    const now = clock.now();
    orderTimes.push(now);
    if (!exempt) budgetedTimes.push(now);
    const current = held.get(id);
    if (current) {
      fractions.push((now - current.notBefore) / lifetimeMs);
      maxRenewalWaitMs = Math.max(maxRenewalWaitMs, now - current.renewAt);
      if (now > latestOnTime(current)) lateRenewals += 1;
    } else {
      lastFirstIssue = Math.max(lastFirstIssue, now);
    }
  };

  const policy = { allowedSuffixes: ['example.com'], maxNames: 100 };
  const registration = {
    records,
    clock,
    logger: quiet,
    policy,
    issuerNames: ['default'],
    defaultIssuer: 'default',
  };
  const idByDomain = new Map<string, string>();
  for (let i = 0; i < options.certificates; i++) {
    const id = `cert-${String(i).padStart(5, '0')}`;
    const domain = `host${i}.example.com`;
    idByDomain.set(domain, id);
    await registerCertificate(registration, { id, domains: [domain] });
  }
  options.log(
    `${options.certificates} certificates registered; simulating ${options.days} days, ` +
      `budget ${budget.orders} orders / ${budget.windowMs / HOUR} h (slack ${budget.slackMs / MINUTE} min), ` +
      `worker ${worker}${workerDelayMs > 0 ? ` after ${workerDelayMs / 1000} s` : ''}`,
  );

  const context = { clock, records, random, placed, held, lifetimeMs };
  const checks = { count: 0 };
  const work =
    worker === 'service'
      ? serviceWorker({ ...context, idByDomain })
      : coreWorker({
          ...context,
          ...(ari ? { ari: { retryAfterMs: options.ariRetryAfterMs ?? 24 * HOUR, checks } } : {}),
        });
  const exemptIssuers = ari ? new Set(['default']) : undefined;

  const pending: Array<{ at: Instant; ids: string[] }> = [];
  let nextPlan = start;
  let nextReport = start + 30 * DAY;
  for (;;) {
    const due = pending[0];
    if (due && due.at <= nextPlan && due.at <= end) {
      pending.shift();
      clock.set(due.at);
      await work(due.ids);
      continue;
    }
    if (nextPlan > end) break;
    clock.set(nextPlan);
    await planDueWork(
      {
        records,
        queue,
        clock,
        logger: planLog,
        budget,
        control,
        ...(exemptIssuers ? { exemptIssuers } : {}),
      },
      options.maxRecordsPerTick ?? MAX_RECORDS_PER_TICK,
    );
    const ids = queue.take(queue.items.length).map((item) => item.id);
    if (ids.length > 0) pending.push({ at: nextPlan + workerDelayMs, ids });
    nextPlan += PLANNER_PERIOD;
    if (nextPlan >= nextReport) {
      options.log(
        `day ${Math.round((nextReport - start) / DAY)}: ${orderTimes.length} orders, ` +
          `${((performance.now() - began) / 1000).toFixed(0)} s`,
      );
      nextReport += 30 * DAY;
    }
  }

  return {
    certificates: options.certificates,
    days: options.days,
    budget,
    worker,
    workerDelayMs,
    lifetimeMs,
    ari,
    maxOrdersPer3h: maxInAnyWindow(orderTimes, budget.windowMs),
    maxBudgetedPer3h: maxInAnyWindow(budgetedTimes, budget.windowMs),
    lateRenewals,
    ariChecks: checks.count,
    latestRenewalFraction: fractions.reduce((max, f) => Math.max(max, f), 0),
    orders: orderTimes.length,
    renewals: fractions.length,
    onboardingMs: lastFirstIssue - start,
    maxRenewalWaitMs,
    plannerRuns: planLog.runs,
    plannerRunsHeld: planLog.held,
    maxHeldByBudget: planLog.maxHeld,
    wallMs: performance.now() - began,
  };
}

interface WorkerContext {
  clock: ManualClock;
  records: MemoryRecordStore;
  random: Random;
  placed: (id: string, exempt?: boolean) => void;
  held: Map<string, Held>;
  lifetimeMs: number;
}

/** The real issuance service against the in-process CA; orders are seen at the CA. */
function serviceWorker(
  context: WorkerContext & { idByDomain: Map<string, string> },
): (ids: string[]) => Promise<void> {
  const { clock, records, random, placed, held, idByDomain, lifetimeMs } = context;
  /** The fake CA, telling the run which record each new order is for. */
  class WatchedCa extends FakeAcmeCa {
    override async placeOrder(request: { domains: string[] }) {
      const id = idByDomain.get(request.domains[0] ?? '');
      if (id) placed(id);
      return super.placeOrder(request);
    }
  }
  const ca: AcmeCa = new WatchedCa(clock, lifetimeMs);
  const deps: IssuanceDeps = {
    records,
    secrets: new MemorySecretStore(),
    issuers: (name) => (name === 'default' ? ca : undefined),
    dns: new MemoryDns01Solver(),
    keys: new NodeKeyFactory(),
    clock,
    logger: quiet,
    random,
    policy: { allowedSuffixes: ['example.com'], maxNames: 100 },
    owner: 'budget-sim-worker',
    leaseMs: LEASE,
    concurrency: 1,
    ariCertificateId: ariCertificateIdOf,
  };
  return async (ids) => {
    for (let i = 0; i < ids.length; i += BATCH_SIZE) {
      const outcomes = await issueCertificates(deps, ids.slice(i, i + BATCH_SIZE));
      for (const outcome of outcomes) {
        if (outcome.outcome === 'issued') {
          const record = await records.get(outcome.id);
          if (record?.current && record.renewAt !== undefined)
            held.set(outcome.id, {
              notBefore: record.current.notBefore,
              notAfter: record.current.notAfter,
              renewAt: record.renewAt,
            });
        } else if (outcome.outcome !== 'rescheduled' && outcome.outcome !== 'skipped') {
          throw new Error(`simulated issuance of ${outcome.id} ended ${outcome.outcome}`);
        }
      }
    }
  };
}

/**
 * The issuance service's record updates without its cryptography: lease, re-check with
 * the real `decideIssuance`, order now, a certificate from now for the lifetime, the
 * real `chooseRenewalTime`, and the success write (lease released). With `ari`, the
 * renewal information steps of the service on the CA's default window: the real
 * `applyRenewalInfo` after issuance and at each check `decideIssuance` asks for.
 */
function coreWorker(
  context: WorkerContext & { ari?: { retryAfterMs: number; checks: { count: number } } },
): (ids: string[]) => Promise<void> {
  const { clock, records, random, placed, held, lifetimeMs, ari } = context;
  let serial = 0x1000;
  /** The CA's answer for a certificate: its default window (as FakeAcmeCa's). */
  const answer = (validity: ValidityPeriod) => ({
    answer: {
      window: {
        start: lifetimeRenewalTime(validity, 1 / 30),
        end: lifetimeRenewalTime(validity, 0),
      },
      retryAfterMs: ari?.retryAfterMs ?? 0,
    },
  });
  return async (ids) => {
    for (const id of ids) {
      const now = clock.now();
      const record = await records.acquireLease(id, 'budget-sim-worker', now, LEASE);
      if (!record) continue;
      const decision = decideIssuance(record, now);
      if (decision.action === 'check-renewal-info' && ari && record.ari && record.current) {
        ari.checks.count += 1;
        const checked = applyRenewalInfo(
          {
            certId: record.ari.certId,
            validity: record.current,
            lifetimeRenewAt: lifetimeRenewalTime(record.current, record.renewJitter ?? 0),
            previous: record.ari,
            ...(record.renewAt !== undefined ? { previousRenewAt: record.renewAt } : {}),
            now,
            random,
          },
          answer(record.current),
        );
        const next: CertificateRecord = {
          ...record,
          ...(checked.ari ? { ari: checked.ari } : {}),
          renewAt: checked.renewAt,
          nextAttemptAt: nextLook({ ...record, ...checked }, now),
          updatedAt: now,
        };
        delete next.lease;
        await records.put(next, record.version);
        continue;
      }
      if (decision.action !== 'issue') {
        const next: CertificateRecord = {
          ...record,
          ...(decision.action === 'reschedule' ? { nextAttemptAt: decision.nextAttemptAt } : {}),
          updatedAt: now,
        };
        delete next.lease;
        await records.put(next, record.version);
        continue;
      }
      placed(id, ari !== undefined && replacedCertificate(record) !== undefined);
      serial += 1;
      const validity = { notBefore: now, notAfter: now + lifetimeMs };
      const renewal = chooseRenewalTime(validity, random);
      const hex = serial.toString(16).padStart(8, '0');
      const applied = ari
        ? applyRenewalInfo(
            { certId: `sim.${hex}`, validity, lifetimeRenewAt: renewal.renewAt, now, random },
            answer(validity),
          )
        : undefined;
      const renewAt = applied?.renewAt ?? renewal.renewAt;
      const next: CertificateRecord = {
        ...record,
        status: 'active',
        current: {
          serial: hex,
          ...validity,
          domains: record.domains,
          keyType: record.keyType,
          issuer: record.issuer,
          issuedAt: now,
        },
        renewAt,
        renewJitter: renewal.jitter,
        nextAttemptAt: renewAt,
        failures: 0,
        updatedAt: now,
      };
      for (const field of [
        'statusMessage',
        'lastError',
        'order',
        'forceRenewal',
        'lease',
        'ari',
      ] as const)
        delete next[field];
      if (applied?.ari) {
        next.ari = applied.ari;
        next.nextAttemptAt = nextLook(next, now);
      }
      await records.put(next, record.version);
      held.set(id, { ...validity, renewAt });
    }
  };
}

// ---------------------------------------------------------------- standalone entry

function argument(name: string): string | undefined {
  const args = process.argv.slice(2);
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  const arg = args[at] as string;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : args[at + 1];
}

export function hours(ms: number): string {
  return ms >= DAY ? `${(ms / DAY).toFixed(2)} d` : `${(ms / HOUR).toFixed(2)} h`;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const lifetimeHours = argument('lifetime-hours');
  const ari = process.argv.includes('--ari-exempt');
  const workerArg = argument('worker');
  if (workerArg !== undefined && workerArg !== 'service' && workerArg !== 'core')
    throw new Error('--worker is service or core');
  const delay = argument('worker-delay-seconds');
  const seed = argument('seed');
  const log = (message: string) => console.error(`[budget-sim] ${message}`);
  const result = await simulateBudget({
    certificates: quick ? 1_000 : FULL_FLEET,
    days: Number(argument('days') ?? 180),
    log,
    ...(workerArg ? { worker: workerArg } : {}),
    ...(delay !== undefined ? { workerDelayMs: Number(delay) * 1000 } : {}),
    ...(seed !== undefined ? { seed: Number(seed) } : {}),
    ...(lifetimeHours !== undefined ? { lifetimeMs: Number(lifetimeHours) * HOUR } : {}),
    ...(ari ? { ari: true, worker: 'core' as const } : {}),
  });
  const pass = (ok: boolean) => (ok ? 'PASS' : 'MISS');
  const fractionTarget = renewalFraction(result.lifetimeMs) + 0.05;
  const table = new Table({ head: ['Figure', 'Measured', 'Target', 'Result'] });
  table.push(
    result.ari
      ? [
          'P4 all orders, most in 3 h (exempt renewals included)',
          String(result.maxOrdersPer3h),
          '',
          '',
        ]
      : [
          'P4 budget.maxOrdersPer3h',
          String(result.maxOrdersPer3h),
          `<= ${result.budget.orders}`,
          pass(result.maxOrdersPer3h <= result.budget.orders),
        ],
    [
      'P4 budget.latestRenewalFraction',
      result.latestRenewalFraction.toFixed(4),
      `<= ${fractionTarget.toFixed(4)} (rule + 5 %)`,
      pass(result.latestRenewalFraction <= fractionTarget),
    ],
    [
      'budgeted orders, most in 3 h (ARI: exempt renewals left out)',
      String(result.maxBudgetedPer3h),
      `<= ${result.budget.orders}`,
      pass(result.maxBudgetedPer3h <= result.budget.orders),
    ],
    [
      'late renewals (after the lifetime rule + 5 % of the lifetime)',
      `${result.lateRenewals}`,
      '0',
      pass(result.lateRenewals === 0),
    ],
    ['orders (renewals)', `${result.orders} (${result.renewals})`, '', ''],
    ['onboarding (all first certificates)', hours(result.onboardingMs), '', ''],
    ['longest renewal wait past renewAt', hours(result.maxRenewalWaitMs), '', ''],
    [
      'planner runs (held by budget; most held)',
      `${result.plannerRuns} (${result.plannerRunsHeld}; ${result.maxHeldByBudget})`,
      '',
      '',
    ],
  );
  console.log(
    `P4 CA budget simulation: ${result.certificates} certificates of ${hours(result.lifetimeMs)}` +
      `${result.ari ? ' (ARI, renewals exempt)' : ''}, ${result.days} days, ` +
      `${result.budget.orders} orders / ${result.budget.windowMs / HOUR} h, worker ${result.worker}` +
      `${quick ? ' (--quick: budget scaled to the fleet)' : ''}, ${(result.wallMs / 1000).toFixed(1)} s`,
  );
  console.log(table.toString());
  console.log(
    JSON.stringify({
      'budget.maxOrdersPer3h': result.maxOrdersPer3h,
      'budget.latestRenewalFraction': Number(result.latestRenewalFraction.toFixed(4)),
    }),
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: Error) => {
    console.error(`[budget-sim] failed: ${error.message}`);
    process.exitCode = 1;
  });
}
