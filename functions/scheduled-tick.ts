import { composeRuntime } from '../src/app/compose.js';
import { readRuntimeConfig } from '../src/config/runtime-config.js';

// Cold start: read and check the configuration, then wire the services once.
const runtime = composeRuntime(readRuntimeConfig(process.env));

/**
 * EventBridge-scheduled tick: find the due records and issue or renew them. Returns
 * the outcome counts (visible in the invoke result and the logs).
 */
export async function handler(): Promise<{ due: number; counts: Record<string, number> }> {
  const report = await runtime.tick();
  return { due: report.due, counts: report.counts };
}
