import { describe, expect, it } from 'vitest';
import { steadyStateCapacity } from '../../../bench/budget-lifetimes.js';
import { scaledBudget, simulateBudget } from '../../../bench/budget-sim.js';
import { DAY, HOUR, MINUTE } from '../../../src/core/time.js';

const quiet = () => {};

describe('the P4 budget simulation (bench/budget-sim.ts) at a small size', () => {
  it('scales the default budget to the fleet: 300 for 10,000, 30 for 1,000, at least 1', () => {
    expect(scaledBudget(10_000).orders).toBe(300);
    expect(scaledBudget(1_000).orders).toBe(30);
    expect(scaledBudget(10).orders).toBe(1);
  });

  it('onboards 300 certificates at 9 per 3 hours and renews them within the budget, before 0.72 of their lifetime', async () => {
    const result = await simulateBudget({
      certificates: 300,
      days: 130,
      log: quiet,
      worker: 'core',
    });
    expect(result.budget.orders).toBe(9);
    expect(result.maxOrdersPer3h).toBeLessThanOrEqual(9);
    expect(result.maxOrdersPer3h).toBe(9); // the onboarding uses the budget in full
    expect(result.latestRenewalFraction).toBeGreaterThan(0.6);
    expect(result.latestRenewalFraction).toBeLessThanOrEqual(0.72);
    expect(result.renewals).toBeGreaterThanOrEqual(300);
    expect(result.orders).toBe(300 + result.renewals);
    // ceil(300 / 9) = 34 spans of 3 h 10 min: the last first certificate in the 34th.
    expect(result.onboardingMs).toBe(33 * 190 * MINUTE);
    expect(result.plannerRunsHeld).toBeGreaterThan(0);
  });

  it('prints the same figures with the real issuance service as with the core worker, run after run', {
    timeout: 60_000,
  }, async () => {
    const options = { certificates: 60, days: 100, log: quiet };
    const service = await simulateBudget({ ...options, worker: 'service' });
    const core = await simulateBudget({ ...options, worker: 'core' });
    const again = await simulateBudget({ ...options, worker: 'core' });
    const figures = (r: typeof core) => ({
      maxOrdersPer3h: r.maxOrdersPer3h,
      latestRenewalFraction: r.latestRenewalFraction,
      orders: r.orders,
      renewals: r.renewals,
      onboardingMs: r.onboardingMs,
      maxRenewalWaitMs: r.maxRenewalWaitMs,
    });
    expect(figures(service)).toEqual(figures(core));
    expect(figures(again)).toEqual(figures(core));
    expect(service.maxOrdersPer3h).toBeLessThanOrEqual(service.budget.orders);
  });

  it('160-hour certificates: without ARI the steady state does not fit the budget, with exempt renewals it does', () => {
    const budget = scaledBudget(10_000);
    const plain = steadyStateCapacity(10_000, 160 * HOUR, false, budget);
    expect(plain.fits).toBe(false);
    expect(plain.ordersPerWindow).toBeGreaterThan(380);
    const ari = steadyStateCapacity(10_000, 160 * HOUR, true, budget);
    expect(ari.fits).toBe(true);
    expect(ari.ordersPerWindow).toBe(0);
    expect(ari.exemptPerWindow).toBeGreaterThan(380);
    expect(steadyStateCapacity(10_000, 90 * DAY, false, budget).fits).toBe(true);
  });

  it('160-hour certificates with ARI: renewals come due during the onboarding, behind a backlog larger than a planner run, and none is late', async () => {
    // 300 certificates at 9 first orders per 3 h 10 min: 4.4 days of onboarding; the
    // first renewals are due after 80 hours, while 20 per run sees only first orders.
    const result = await simulateBudget({
      certificates: 300,
      days: 12,
      log: quiet,
      worker: 'core',
      lifetimeMs: 160 * HOUR,
      ari: true,
      maxRecordsPerTick: 20,
    });
    expect(result.onboardingMs).toBeGreaterThan(80 * HOUR);
    expect(result.maxBudgetedPer3h).toBeLessThanOrEqual(9);
    expect(result.renewals).toBeGreaterThan(300);
    expect(result.maxOrdersPer3h).toBeGreaterThan(9); // exempt renewals beside the budget
    expect(result.lateRenewals).toBe(0);
    expect(result.latestRenewalFraction).toBeLessThanOrEqual(0.5 + 1 / 60);
    expect(result.ariChecks).toBeGreaterThan(0);
  });

  it('refuses a worker delay longer than the slack (the budget would not cover its orders)', async () => {
    await expect(
      simulateBudget({ certificates: 10, days: 1, log: quiet, workerDelayMs: 11 * MINUTE }),
    ).rejects.toThrow(/slack/);
  });
});
