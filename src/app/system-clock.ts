import type { Clock } from '../ports/clock.js';

/** The wall clock, for the composition roots (tests pass a manual one). */
export const systemClock: Clock = { now: () => Date.now() };
