import type { Instant } from '../core/time.js';

/** The only way services learn the time. Tests pass a manual clock. */
export interface Clock {
  now(): Instant;
}
