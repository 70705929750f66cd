import { composeStekRotation } from '../src/app/compose-stek.js';
import { readStekConfig } from '../src/config/stek-environment.js';
import { CertloopError } from '../src/core/errors.js';
import type { StekRotationReport } from '../src/services/rotate-stek.js';

// Built once per cold start; a bad configuration fails here, naming the variable.
const runtime = composeStekRotation(readStekConfig(process.env));

/**
 * Scheduled STEK rotation (EventBridge, e.g. every hour: most runs find NothingToDo).
 * Every set is tried; when any failed, the invocation fails after all of them ran, so
 * the Lambda Errors metric alarms and the scheduler's retry runs the (idempotent)
 * rotation again.
 */
export async function handler(): Promise<StekRotationReport> {
  const report = await runtime.rotate();
  if (report.failed > 0) {
    const failed = report.sets.filter((set) => set.outcome === 'failed').map((set) => set.setId);
    throw new CertloopError('transient', `STEK rotation failed for: ${failed.join(', ')}`, {
      source: 'stek',
    });
  }
  return report;
}
