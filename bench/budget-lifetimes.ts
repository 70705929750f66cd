/**
 * P4 per lifetime. Run: `npx tsx bench/budget-lifetimes.ts [--quick]` (also part of
 * `npm run bench`). For Let's Encrypt's three lifetimes (classic 90 days, tlsserver 45
 * days, shortlived 160 hours), each without and with ARI-exempt renewals, 10,000
 * certificates (1,000 with --quick, budget scaled) onboarded at day 0 and simulated for
 * 180 days by bench/budget-sim.ts (core worker; its header explains the simulation).
 *
 * Before simulating, the steady state is checked against the budget with the product's
 * own rule (`fleetCapacity`, the capacity line of `certloop status`). A fleet that does
 * not fit (160-hour certificates without ARI need about 390 budgeted orders per 3 hours
 * against 300) is reported as such and not simulated: it would lag by design, which the
 * capacity line and the CertificatesAtRisk alarm tell its operator.
 *
 * Targets where the fleet fits: budgeted orders in any 3 h <= the budget, and 0 renewals
 * placed after the lifetime rule + 5 % of the lifetime (`latestOnTime`).
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import Table from 'cli-table3';
import type { CertificateRecord } from '../src/core/certificate-record.js';
import { type FleetCapacity, fleetCapacity } from '../src/core/fleet-capacity.js';
import type { OrderBudget } from '../src/core/renewal-budget.js';
import { chooseRenewalTime, lifetimeRenewalTime } from '../src/core/renewal-window.js';
import { DAY, HOUR } from '../src/core/time.js';
import { ManualClock, seededRandom } from '../test/support/manual-clock.js';
import { aRecord } from '../test/support/record-builder.js';
import { type BudgetSimResult, hours, scaledBudget, simulateBudget } from './budget-sim.js';

/** One lifetime of the per-lifetime P4 runs: simulated, or found not to fit the budget. */
export interface LifetimeRun {
  label: string;
  lifetimeMs: number;
  ari: boolean;
  /** The steady state against the budget, as `certloop status` computes it. */
  capacity: FleetCapacity;
  /** Absent when the fleet does not fit the budget (nothing to simulate). */
  result?: BudgetSimResult;
}

/** Let's Encrypt's profiles: classic (90 days), tlsserver (45 days), shortlived (160 hours). */
export const P4_LIFETIMES = [
  { label: '90 days', lifetimeMs: 90 * DAY, days: 180 },
  { label: '45 days', lifetimeMs: 45 * DAY, days: 180 },
  { label: '160 hours', lifetimeMs: 160 * HOUR, days: 180 },
] as const;

/**
 * The steady state of a fleet of `certificates` of one lifetime against the budget, by
 * the product's own rule (`fleetCapacity`): each certificate renewing at the lifetime
 * rule (its jitter drawn), or, with ARI, inside the CA's default window and exempt.
 */
export function steadyStateCapacity(
  certificates: number,
  lifetimeMs: number,
  ari: boolean,
  budget: OrderBudget,
  seed = 4,
): FleetCapacity {
  const random = seededRandom(seed);
  const now = new ManualClock().now();
  const records: CertificateRecord[] = [];
  for (let i = 0; i < certificates; i++) {
    const validity = { notBefore: now, notAfter: now + lifetimeMs };
    const renewAt = ari
      ? lifetimeRenewalTime(validity, random() / 30)
      : chooseRenewalTime(validity, random).renewAt;
    records.push({
      ...aRecord({ id: `cert-${i}`, status: 'active', renewAt }),
      current: {
        serial: i.toString(16),
        ...validity,
        domains: ['a.example.test'],
        keyType: 'ec-p256',
        issuer: 'default',
        issuedAt: now,
      },
      ...(ari ? { ari: { certId: `sim.${i}`, checkAt: renewAt, failures: 0 } } : {}),
      version: 1,
    });
  }
  return fleetCapacity(records, budget, new Set(ari ? ['default'] : []));
}

/**
 * P4 per lifetime: for each of P4_LIFETIMES, without and with ARI (exempt renewals), the
 * steady-state capacity, and the simulation of those that fit (core worker).
 */
export async function simulateLifetimes(options: {
  certificates: number;
  log: (message: string) => void;
  seed?: number;
}): Promise<LifetimeRun[]> {
  const budget = scaledBudget(options.certificates);
  const runs: LifetimeRun[] = [];
  for (const lifetime of P4_LIFETIMES) {
    for (const ari of [false, true]) {
      const label = `${lifetime.label}${ari ? ', ARI exempt' : ''}`;
      const capacity = steadyStateCapacity(options.certificates, lifetime.lifetimeMs, ari, budget);
      if (!capacity.fits) {
        options.log(
          `${label}: does not fit (${capacity.ordersPerWindow.toFixed(1)} budgeted orders per 3 h > ${budget.orders}); not simulated`,
        );
        runs.push({ label, lifetimeMs: lifetime.lifetimeMs, ari, capacity });
        continue;
      }
      const result = await simulateBudget({
        certificates: options.certificates,
        days: lifetime.days,
        budget,
        worker: 'core',
        lifetimeMs: lifetime.lifetimeMs,
        ari,
        log: (message) => options.log(`${label}: ${message}`),
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
      });
      runs.push({ label, lifetimeMs: lifetime.lifetimeMs, ari, capacity, result });
    }
  }
  return runs;
}

/** The per-lifetime table: one row per run, with its verdicts. */
export function lifetimeTable(runs: readonly LifetimeRun[]): string {
  const table = new Table({
    head: [
      'P4 lifetime',
      'steady state (budgeted / exempt per 3 h)',
      'budgeted orders, most in 3 h',
      'all orders, most in 3 h',
      'late renewals (after rule + 5 %)',
      'longest wait',
      'latest renewal (fraction)',
      'onboarding',
      'Result',
    ],
  });
  for (const run of runs) {
    const steady = `${run.capacity.ordersPerWindow.toFixed(1)} / ${run.capacity.exemptPerWindow.toFixed(1)}`;
    const r = run.result;
    if (!r) {
      table.push([run.label, steady, 'does not fit', '', '', '', '', '', 'n/a (status warns)']);
      continue;
    }
    const ok = r.maxBudgetedPer3h <= r.budget.orders && r.lateRenewals === 0;
    table.push([
      run.label,
      steady,
      `${r.maxBudgetedPer3h} (<= ${r.budget.orders})`,
      String(r.maxOrdersPer3h),
      `${r.lateRenewals} of ${r.renewals}`,
      hours(Math.max(0, r.maxRenewalWaitMs)),
      r.latestRenewalFraction.toFixed(4),
      hours(r.onboardingMs),
      ok ? 'PASS' : 'MISS',
    ]);
  }
  return table.toString();
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const began = performance.now();
  const runs = await simulateLifetimes({
    certificates: quick ? 1_000 : 10_000,
    log: (message) => console.error(`[budget-lifetimes] ${message}`),
  });
  console.log(
    `P4 per lifetime: ${quick ? '1,000 (--quick, budget scaled)' : '10,000'} certificates, ` +
      `180 days each, ${((performance.now() - began) / 1000).toFixed(1)} s`,
  );
  console.log(lifetimeTable(runs));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: Error) => {
    console.error(`[budget-lifetimes] failed: ${error.message}`);
    process.exitCode = 1;
  });
}
