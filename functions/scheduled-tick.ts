import { composeRuntime } from '../src/app/compose.js';
import { readRuntimeConfig } from '../src/config/runtime-config.js';

// Cold start: read and check the configuration, then wire the services once.
const runtime = composeRuntime(readRuntimeConfig(process.env));

/**
 * EventBridge-scheduled tick: find the due records, admit them within the CA's order
 * budget (CERTLOOP_BUDGET_*) and issue or renew the admitted ones. Returns the outcome
 * counts and how many due records the budget held for a later tick (visible in the
 * invoke result and the logs).
 */
export async function handler(): Promise<{
  due: number;
  heldByBudget: number;
  counts: Record<string, number>;
}> {
  const report = await runtime.tick();
  return { due: report.due, heldByBudget: report.heldByBudget, counts: report.counts };
}
