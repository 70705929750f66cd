import type { CertloopEvent } from '../core/certificate-events.js';

/**
 * Where announcements go (EventBridge's default bus on AWS).
 * - `publish` sends the events and answers how many the bus did not take. It never
 *   throws for a refused or failed send: an announcement must never fail or repeat the
 *   work it announces. Retries are the SDK's; what still fails is counted and dropped.
 */
export interface EventBus {
  publish(events: readonly CertloopEvent[]): Promise<{ failed: number }>;
}
