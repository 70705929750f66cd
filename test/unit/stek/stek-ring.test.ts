import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_STEK_POLICY,
  decodeRing,
  EMPTY_RING,
  encodeRing,
  encryptingKey,
  maxRingSize,
  type RandomBytes,
  rotateRing,
  type StekKey,
  StekMaterial,
  type StekPolicy,
  type StekRing,
  toBase64,
} from '../../../src/core/stek-ring.js';
import { HOUR, MINUTE } from '../../../src/core/time.js';

const T0 = Date.UTC(2026, 10, 23, 9, 0, 0);
const P = DEFAULT_STEK_POLICY.periodMs;
const R = DEFAULT_STEK_POLICY.retentionMs;

/** Deterministic, distinct bytes: byte i of call n is (n * 31 + i) & 0xff. */
function countingBytes(): RandomBytes {
  let calls = 0;
  return (length) => {
    calls += 1;
    return Uint8Array.from({ length }, (_, i) => (calls * 31 + i) & 0xff);
  };
}

function rotateAt(ring: StekRing, now: number, policy: StekPolicy = DEFAULT_STEK_POLICY) {
  return rotateRing(ring, now, policy, countingBytes());
}

describe('the default policy', () => {
  it('is a new key every 12 h, kept 24 h after it stops encrypting, at most 4 keys', () => {
    expect(DEFAULT_STEK_POLICY).toEqual({ periodMs: 12 * HOUR, retentionMs: 24 * HOUR });
    expect(maxRingSize(DEFAULT_STEK_POLICY)).toBe(4);
  });
});

describe('rotateRing', () => {
  it('creates a current key and a next key published one period ahead when the ring is empty', () => {
    const decision = rotateAt(EMPTY_RING, T0);
    expect(decision.reason).toBe('RingEmpty');
    expect(decision.ring.generation).toBe(1);
    const [next, current] = decision.ring.keys;
    expect(current).toMatchObject({ serial: 1, encryptsFrom: T0, encryptsUntil: T0 + P });
    expect(next).toMatchObject({ serial: 2, createdAt: T0, encryptsFrom: T0 + P });
    expect(next?.dropAt).toBe(T0 + 2 * P + R);
  });

  it('does nothing while the next key is still waiting', () => {
    const first = rotateAt(EMPTY_RING, T0).ring;
    const decision = rotateAt(first, T0 + P - MINUTE);
    expect(decision).toMatchObject({ reason: 'NothingToDo', changed: false });
    expect(decision.ring).toBe(first);
  });

  it('adds the next key once the newest one encrypts, published one period ahead', () => {
    const first = rotateAt(EMPTY_RING, T0).ring;
    const decision = rotateAt(first, T0 + P);
    expect(decision.reason).toBe('NextKeyDue');
    expect(decision.ring.keys.map((key) => key.serial)).toEqual([3, 2, 1]);
    expect(decision.ring.keys[0]).toMatchObject({ encryptsFrom: T0 + 2 * P, createdAt: T0 + P });
  });

  it('stretches the current window when the rotation ran late, never leaving a gap', () => {
    const first = rotateAt(EMPTY_RING, T0).ring;
    const late = T0 + P + 3 * HOUR;
    const decision = rotateAt(first, late);
    const [next, current] = decision.ring.keys;
    expect(next?.encryptsFrom).toBe(late + P);
    expect(current?.encryptsUntil).toBe(late + P);
    expect(current?.dropAt).toBe(late + P + R);
  });

  it('retires keys whose retention ran out, and keeps the ring at four keys', () => {
    let ring = rotateAt(EMPTY_RING, T0).ring;
    for (let i = 1; i <= 5; i += 1) ring = rotateAt(ring, T0 + i * P).ring;
    expect(ring.keys.map((key) => key.serial)).toEqual([7, 6, 5, 4]);
    const decision = rotateAt(ring, T0 + 6 * P);
    expect(decision.rules).toEqual(['NextKeyDue', 'KeyRetired']);
    expect(decision.retired).toEqual([4]);
  });

  it('reports KeyRetired alone when only a drop is due', () => {
    const ring = rotateAt(rotateAt(rotateAt(EMPTY_RING, T0).ring, T0 + P).ring, T0 + 2 * P).ring;
    // Serial 1 stopped at T0 + P and is dropped at T0 + P + R.
    const decision = rotateAt(ring, T0 + P + R);
    expect(decision.rules).toContain('KeyRetired');
    expect(decision.retired).toEqual([1]);
  });
});

describe('encryptingKey', () => {
  it('is the newest key whose window has started', () => {
    const ring = rotateAt(EMPTY_RING, T0).ring;
    expect(encryptingKey(ring, T0)?.serial).toBe(1);
    expect(encryptingKey(ring, T0 + P - 1)?.serial).toBe(1);
    expect(encryptingKey(ring, T0 + P)?.serial).toBe(2);
    expect(encryptingKey(EMPTY_RING, T0)).toBeUndefined();
  });
});

describe('the stored ring document', () => {
  it('round-trips every field and byte', () => {
    const ring = rotateAt(rotateAt(EMPTY_RING, T0).ring, T0 + P).ring;
    const decoded = decodeRing(encodeRing(ring));
    expect(decoded.generation).toBe(ring.generation);
    expect(decoded.keys.map(({ material, ...rest }) => rest)).toEqual(
      ring.keys.map(({ material, ...rest }) => rest),
    );
    decoded.keys.forEach((key, i) => {
      expect(key.material.equals((ring.keys[i] as StekKey).material)).toBe(true);
    });
  });

  it('rejects malformed values without quoting them', () => {
    const secret = 'c2VjcmV0LXN0ZWstYnl0ZXMtdGhhdC1tdXN0LW5vdC1sZWFr';
    for (const text of [secret, `{"format":1,"generation":1,"keys":[{"name":"${secret}"}]}`]) {
      expect(() => decodeRing(text)).toThrowError(/not a certloop STEK ring/);
      try {
        decodeRing(text);
      } catch (error) {
        expect(String(error)).not.toContain(secret);
      }
    }
  });
});

describe('StekMaterial', () => {
  it('never prints its bytes', () => {
    const name = new Uint8Array(16).fill(0xab);
    const material = new StekMaterial(name, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2));
    const rendered = [
      String(material),
      `${material}`,
      JSON.stringify({ material }),
      inspect({ material }),
    ].join(' ');
    expect(rendered).not.toMatch(/ab|AQEB|qqqq|q6ur/);
    expect(rendered).toContain('[redacted stek material]');
    expect(toBase64(material.name())).toBe(toBase64(name));
  });
});

// ---------------------------------------------------------------------------------------
// Properties: a simulated schedule of rotations at random (monotonic) times.

const policyArb = fc
  .record({
    periodHours: fc.integer({ min: 1, max: 48 }),
    extraPeriods: fc.integer({ min: 0, max: 4 }),
  })
  .chain(({ periodHours, extraPeriods }) =>
    fc.integer({ min: 0, max: periodHours * 60 }).map((extraMinutes) => ({
      periodMs: periodHours * HOUR,
      retentionMs: periodHours * HOUR * (1 + extraPeriods) + extraMinutes * MINUTE,
    })),
  );

/** Gaps between rotation runs: mostly short (a schedule), sometimes long (an outage). */
const gapsArb = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 2 * HOUR }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 * 24 * HOUR }) },
  ),
  { minLength: 1, maxLength: 80 },
);

function simulate(policy: StekPolicy, gaps: number[]) {
  const random = countingBytes();
  const states: { now: number; ring: StekRing }[] = [];
  let now = T0;
  let ring: StekRing = EMPTY_RING;
  for (const gap of [0, ...gaps]) {
    now += gap;
    ring = rotateRing(ring, now, policy, random).ring;
    states.push({ now, ring });
  }
  return states;
}

describe('properties of the ring under any schedule', () => {
  it('never holds more than 2 + ceil(retention / period) keys', () => {
    fc.assert(
      fc.property(policyArb, gapsArb, (policy, gaps) => {
        for (const { ring } of simulate(policy, gaps)) {
          expect(ring.keys.length).toBeLessThanOrEqual(maxRingSize(policy));
        }
      }),
    );
  });

  it('publishes every key one period before it encrypts (but the very first)', () => {
    fc.assert(
      fc.property(policyArb, gapsArb, (policy, gaps) => {
        for (const { ring } of simulate(policy, gaps)) {
          for (const key of ring.keys) {
            if (key.serial === 1) continue;
            expect(key.encryptsFrom - key.createdAt).toBeGreaterThanOrEqual(policy.periodMs);
          }
        }
      }),
    );
  });

  it('keeps every key for the retention window after it stops encrypting', () => {
    fc.assert(
      fc.property(policyArb, gapsArb, (policy, gaps) => {
        const states = simulate(policy, gaps);
        const final = new Map<number, StekKey>();
        for (const { ring } of states) for (const key of ring.keys) final.set(key.serial, key);
        for (const key of final.values()) {
          expect(key.dropAt).toBe(key.encryptsUntil + policy.retentionMs);
        }
        for (const { now, ring } of states) {
          const present = new Set(ring.keys.map((key) => key.serial));
          for (const key of final.values()) {
            const created = key.createdAt <= now;
            if (created && now < key.encryptsUntil + policy.retentionMs) {
              expect(present.has(key.serial)).toBe(true);
            }
          }
        }
      }),
    );
  });

  it('moves rotation times forward only: serials, creation and windows all increase', () => {
    fc.assert(
      fc.property(policyArb, gapsArb, (policy, gaps) => {
        let lastGeneration = 0;
        for (const { ring } of simulate(policy, gaps)) {
          expect(ring.generation).toBeGreaterThanOrEqual(lastGeneration);
          lastGeneration = ring.generation;
          const oldestFirst = [...ring.keys].reverse();
          for (let i = 1; i < oldestFirst.length; i += 1) {
            const before = oldestFirst[i - 1] as StekKey;
            const after = oldestFirst[i] as StekKey;
            expect(after.serial).toBeGreaterThan(before.serial);
            expect(after.createdAt).toBeGreaterThanOrEqual(before.createdAt);
            expect(after.encryptsFrom).toBeGreaterThan(before.encryptsFrom);
            // Windows tile: each key stops exactly when the next one starts.
            expect(before.encryptsUntil).toBe(after.encryptsFrom);
          }
        }
      }),
    );
  });

  it('has exactly one key encrypting at every instant from the first rotation on', () => {
    fc.assert(
      fc.property(
        policyArb,
        gapsArb,
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })),
        (policy, gaps, probes) => {
          for (const { now, ring } of simulate(policy, gaps)) {
            const newest = ring.keys[0] as StekKey;
            const instants = [
              now,
              ...probes.map((p) => now + Math.floor(p * (newest.encryptsUntil - now))),
            ];
            for (const t of instants) {
              const encrypting = ring.keys.filter(
                (key) => key.encryptsFrom <= t && t < key.encryptsUntil,
              );
              expect(encrypting).toHaveLength(1);
              expect(encrypting[0]).toBe(encryptingKey(ring, t));
            }
          }
        },
      ),
    );
  });

  it('lets a host one ring version behind agree on the encrypting key or hold it', () => {
    fc.assert(
      fc.property(policyArb, gapsArb, (policy, gaps) => {
        const states = simulate(policy, gaps);
        for (let i = 1; i < states.length; i += 1) {
          const { now, ring } = states[i] as { now: number; ring: StekRing };
          const stale = (states[i - 1] as { ring: StekRing }).ring;
          // Within a pull interval of the newer version, the stale host encrypts with a
          // key the fresh host holds, and holds the key the fresh host encrypts with.
          const fresh = encryptingKey(ring, now) as StekKey;
          const old = encryptingKey(stale, now) as StekKey;
          expect(ring.keys.some((key) => key.serial === old.serial)).toBe(true);
          expect(stale.keys.some((key) => key.serial === fresh.serial)).toBe(true);
        }
      }),
    );
  });
});
