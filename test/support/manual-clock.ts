import type { Instant } from '../../src/core/time.js';
import type { Clock } from '../../src/ports/clock.js';

/** A clock that moves only when told to. Starts at a fixed date so tests are repeatable. */
export class ManualClock implements Clock {
  #now: Instant;

  constructor(start: Instant = Date.UTC(2026, 10, 23, 9, 0, 0)) {
    this.#now = start;
  }

  now(): Instant {
    return this.#now;
  }

  set(instant: Instant): void {
    this.#now = instant;
  }

  advance(ms: number): void {
    this.#now += ms;
  }
}

/** A deterministic Random (mulberry32), so a failing property or scenario can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
