/** Instants are milliseconds since the Unix epoch; durations are milliseconds. */
export type Instant = number;

export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A source of uniform random numbers in [0, 1). Injected so that decisions stay pure. */
export type Random = () => number;

/** Renders an instant for humans and logs (ISO 8601, UTC). */
export function iso(instant: Instant): string {
  return new Date(instant).toISOString();
}
