/**
 * Session-ticket encryption key (STEK) rings: pure maths, no I/O. `now` and randomness
 * come in as arguments (the adapter passes node:crypto randomBytes).
 *
 * A STEK set is one secret holding a bounded ring of keys, newest first. Every key has
 * a 16-byte name, a 32-byte HMAC secret and a 32-byte AES-256 key, and four instants
 * (epoch ms):
 * - `createdAt`: when the rotation published it;
 * - `encryptsFrom` / `encryptsUntil`: the half-open window in which hosts encrypt new
 *   tickets with it. Windows tile time: a key's `encryptsUntil` is the next key's
 *   `encryptsFrom`, so at every instant exactly one key encrypts;
 * - `dropAt` = `encryptsUntil + retentionMs`: until then it stays in the ring so that
 *   hosts can still decrypt the tickets it issued.
 *
 * Default policy (DEFAULT_STEK_POLICY), in numbers:
 * - period P = 12 h: a new key every 12 h, and each key encrypts for 12 h;
 * - a key is published at least P (12 h) before it encrypts: hosts pulling every few
 *   minutes hold it, decrypt-only, long before any host encrypts with it;
 * - retention R = 24 h after it stops encrypting, so a key decrypts for 36 h from the
 *   moment it starts encrypting (12 h encrypting + 24 h decrypt-only), and it sits in
 *   the ring for 48 h in all;
 * - so the ring holds at most 2 + ceil(R / P) = 4 keys: [next, current, previous, older].
 *   (Retaining 36 h *after* the stop would need a fifth key; 24 h already covers any
 *   ticket lifetime hosts should use, e.g. nginx `ssl_session_timeout` <= 24 h.)
 * - hosts pull (export) every few minutes; the pull interval must stay far below P so
 *   that a host always holds the next key before others start encrypting with it, and
 *   below R so that it still holds the previous key while laggards encrypt with it.
 *
 * Which key encrypts is a function of time (`encryptingKey`): the newest key whose
 * `encryptsFrom` has passed. A host whose copy of the ring is one version old still
 * agrees, because the next key was in the older version already.
 *
 * Rules (`rotateRing`), each named after what it detects:
 * - `RingEmpty`: no keys yet. Creates a key that encrypts at once (nobody holds any
 *   key, so there is nothing to be ahead of) and its successor, published a full
 *   period ahead.
 * - `NextKeyDue`: the newest key already encrypts, so no key is waiting in the wings.
 *   Adds one that encrypts from max(now + P, newest.encryptsUntil). When the rotation
 *   ran late, the newest key's window (and dropAt) is stretched to meet the new one:
 *   a published window is only ever extended, never shortened.
 * - `KeyRetired`: a key's `dropAt` has passed; it leaves the ring. The encrypting key
 *   and the next key are never retired.
 * - `NothingToDo`: none of the above.
 * Several rules can fire in one decision; `rules` lists them and `reason` is the first.
 */
import type { Instant } from './time.js';
import { HOUR } from './time.js';

/** Bytes of a key's name (RFC 5077 key_name), its HMAC secret and its AES key. */
export const STEK_NAME_BYTES = 16;
export const STEK_HMAC_BYTES = 32;
export const STEK_AES_BYTES = 32;
export const STEK_MATERIAL_BYTES = STEK_NAME_BYTES + STEK_HMAC_BYTES + STEK_AES_BYTES;

/** Version of the stored ring document; bumped on incompatible changes. */
export const STEK_RING_FORMAT = 1;

const REDACTED = '[redacted stek material]';

/**
 * The 80 secret bytes of one key (name | HMAC secret | AES key) that refuse to be
 * printed: `String()`, template strings, `JSON.stringify` and `util.inspect` show a
 * placeholder. Only exporters and store adapters read the bytes, through the accessors,
 * which return copies.
 */
export class StekMaterial {
  readonly #bytes: Uint8Array;

  constructor(name: Uint8Array, hmacSecret: Uint8Array, aesKey: Uint8Array) {
    if (
      name.length !== STEK_NAME_BYTES ||
      hmacSecret.length !== STEK_HMAC_BYTES ||
      aesKey.length !== STEK_AES_BYTES
    ) {
      throw new TypeError(
        `a STEK needs a ${STEK_NAME_BYTES}-byte name, a ${STEK_HMAC_BYTES}-byte HMAC secret and a ${STEK_AES_BYTES}-byte AES key`,
      );
    }
    const bytes = new Uint8Array(STEK_MATERIAL_BYTES);
    bytes.set(name, 0);
    bytes.set(hmacSecret, STEK_NAME_BYTES);
    bytes.set(aesKey, STEK_NAME_BYTES + STEK_HMAC_BYTES);
    this.#bytes = bytes;
  }

  /** The 16-byte key name (sent in the clear inside tickets, still kept out of logs). */
  name(): Uint8Array {
    return this.#bytes.slice(0, STEK_NAME_BYTES);
  }

  /** The 32-byte HMAC-SHA256 secret. */
  hmacSecret(): Uint8Array {
    return this.#bytes.slice(STEK_NAME_BYTES, STEK_NAME_BYTES + STEK_HMAC_BYTES);
  }

  /** The 32-byte AES-256 key. */
  aesKey(): Uint8Array {
    return this.#bytes.slice(STEK_NAME_BYTES + STEK_HMAC_BYTES);
  }

  equals(other: StekMaterial): boolean {
    const a = this.#bytes;
    const b = other.#bytes;
    let diff = 0;
    for (let i = 0; i < a.length; i += 1) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
    return diff === 0;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return REDACTED;
  }
}

export interface StekKey {
  /** 1, 2, 3, ... in creation order within a set; what logs name a key by. */
  serial: number;
  createdAt: Instant;
  encryptsFrom: Instant;
  encryptsUntil: Instant;
  dropAt: Instant;
  material: StekMaterial;
}

export interface StekRing {
  /** Incremented by every rotation that changes the ring; 0 for "never written". */
  generation: number;
  /** Newest first (descending `encryptsFrom`). */
  keys: readonly StekKey[];
}

export interface StekPolicy {
  /** How long each key encrypts, and how often a new one arrives. */
  periodMs: number;
  /** How long a key stays (decrypt-only) after it stops encrypting. */
  retentionMs: number;
}

export const DEFAULT_STEK_POLICY: Readonly<StekPolicy> = {
  periodMs: 12 * HOUR,
  retentionMs: 24 * HOUR,
};

/** The most keys a ring holds under `policy`: next + current + retained ones. */
export function maxRingSize(policy: StekPolicy): number {
  return 2 + Math.ceil(policy.retentionMs / policy.periodMs);
}

/** Throws a RangeError naming the field when the policy cannot work. */
export function checkStekPolicy(policy: StekPolicy): StekPolicy {
  if (!Number.isFinite(policy.periodMs) || policy.periodMs < 60_000) {
    throw new RangeError(`periodMs must be at least one minute, got ${policy.periodMs}`);
  }
  if (!Number.isFinite(policy.retentionMs) || policy.retentionMs < policy.periodMs) {
    throw new RangeError(
      `retentionMs must be at least periodMs (${policy.periodMs}), got ${policy.retentionMs}`,
    );
  }
  return policy;
}

export type StekRule = 'RingEmpty' | 'NextKeyDue' | 'KeyRetired' | 'NothingToDo';

export interface StekDecision {
  /** The ring to publish (the input ring itself when `changed` is false). */
  ring: StekRing;
  changed: boolean;
  /** The first rule that fired. */
  reason: StekRule;
  /** Every rule that fired, in evaluation order. */
  rules: StekRule[];
  /** Serials of keys added and retired, for logs. */
  added: number[];
  retired: number[];
}

export type RandomBytes = (length: number) => Uint8Array;

/** The empty ring, as read for a set that has never been written. */
export const EMPTY_RING: StekRing = { generation: 0, keys: [] };

/** Decides the next ring (pure). See the top comment for the rules. */
export function rotateRing(
  ring: StekRing,
  now: Instant,
  policy: StekPolicy,
  randomBytes: RandomBytes,
): StekDecision {
  checkStekPolicy(policy);
  const rules: StekRule[] = [];
  const added: number[] = [];
  let keys: StekKey[] = sortNewestFirst(ring.keys);
  const nextSerial = () => Math.max(0, ...keys.map((key) => key.serial)) + 1;

  if (keys.length === 0) {
    rules.push('RingEmpty');
    const first = newKey(nextSerial(), now, now, policy, randomBytes);
    keys = [first];
    const second = newKey(nextSerial(), now, first.encryptsUntil, policy, randomBytes);
    keys = [second, first];
    added.push(first.serial, second.serial);
  } else {
    const newest = keys[0] as StekKey;
    if (newest.encryptsFrom <= now) {
      rules.push('NextKeyDue');
      const from = Math.max(now + policy.periodMs, newest.encryptsUntil);
      const next = newKey(nextSerial(), now, from, policy, randomBytes);
      // Late rotation: stretch the newest window so that windows keep tiling.
      const stretched: StekKey =
        newest.encryptsUntil === from
          ? newest
          : { ...newest, encryptsUntil: from, dropAt: from + policy.retentionMs };
      keys = [next, stretched, ...keys.slice(1)];
      added.push(next.serial);
    }
  }

  // Never retire the key that encrypts now, nor any key that encrypts later.
  const encrypting = pickEncrypting(keys, now);
  const retired = keys.filter(
    (key) =>
      key.dropAt <= now && key !== encrypting && key.encryptsFrom < (encrypting?.encryptsFrom ?? 0),
  );
  if (retired.length > 0) {
    rules.push('KeyRetired');
    keys = keys.filter((key) => !retired.includes(key));
  }

  if (rules.length === 0) {
    return {
      ring,
      changed: false,
      reason: 'NothingToDo',
      rules: ['NothingToDo'],
      added: [],
      retired: [],
    };
  }
  return {
    ring: { generation: ring.generation + 1, keys },
    changed: true,
    reason: rules[0] as StekRule,
    rules,
    added,
    retired: retired.map((key) => key.serial),
  };
}

/**
 * The key hosts encrypt with at `now`: the newest key whose `encryptsFrom` has passed.
 * `undefined` only for an empty ring (or one whose keys all lie in the future).
 */
export function encryptingKey(ring: StekRing, now: Instant): StekKey | undefined {
  return pickEncrypting(sortNewestFirst(ring.keys), now);
}

/** Keys that will encrypt after `now` (published ahead), newest first. */
export function upcomingKeys(ring: StekRing, now: Instant): StekKey[] {
  return sortNewestFirst(ring.keys).filter((key) => key.encryptsFrom > now);
}

/**
 * Keys that stopped encrypting before `now` and are still kept for decryption, newest
 * first. Keys whose `dropAt` passed are left out even if a rotation has not removed
 * them yet.
 */
export function retainedKeys(ring: StekRing, now: Instant): StekKey[] {
  const current = encryptingKey(ring, now);
  return sortNewestFirst(ring.keys).filter(
    (key) =>
      key !== current &&
      key.encryptsFrom <= now &&
      key.dropAt > now &&
      (current === undefined || key.encryptsFrom < current.encryptsFrom),
  );
}

/** Facts about a ring that are safe to log: serials and instants, never bytes. */
export function describeRing(ring: StekRing): {
  generation: number;
  keys: { serial: number; encryptsFrom: Instant; encryptsUntil: Instant; dropAt: Instant }[];
} {
  return {
    generation: ring.generation,
    keys: ring.keys.map((key) => ({
      serial: key.serial,
      encryptsFrom: key.encryptsFrom,
      encryptsUntil: key.encryptsUntil,
      dropAt: key.dropAt,
    })),
  };
}

// ---------------------------------------------------------------------------------------
// The stored document: JSON with base64 fields. Used by every StekSetStore and by the
// `json` export format, so all of them read and write the same bytes.
//
//   { "format": 1, "generation": 7, "keys": [ { "serial": 9, "name": "<b64 16>",
//     "hmacSecret": "<b64 32>", "aesKey": "<b64 32>", "createdAt": ms,
//     "encryptsFrom": ms, "encryptsUntil": ms, "dropAt": ms }, ... newest first ] }

/** The ring as the JSON text stores keep (contains key material: never log it). */
export function encodeRing(ring: StekRing): string {
  return JSON.stringify({
    format: STEK_RING_FORMAT,
    generation: ring.generation,
    keys: sortNewestFirst(ring.keys).map((key) => ({
      serial: key.serial,
      name: toBase64(key.material.name()),
      hmacSecret: toBase64(key.material.hmacSecret()),
      aesKey: toBase64(key.material.aesKey()),
      createdAt: key.createdAt,
      encryptsFrom: key.encryptsFrom,
      encryptsUntil: key.encryptsUntil,
      dropAt: key.dropAt,
    })),
  });
}

export class StekRingFormatError extends Error {
  constructor(problem: string) {
    // Problems name fields and shapes only, never values.
    super(`not a certloop STEK ring: ${problem}`);
    this.name = 'StekRingFormatError';
  }
}

/** Parses `encodeRing` output. Throws StekRingFormatError (naming fields, never values). */
export function decodeRing(text: string): StekRing {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The SyntaxError would quote the input.
    throw new StekRingFormatError('the value is not JSON');
  }
  if (!isObject(value)) throw new StekRingFormatError('the value is not a JSON object');
  if (value.format !== STEK_RING_FORMAT) {
    throw new StekRingFormatError(`format must be ${STEK_RING_FORMAT}`);
  }
  if (!isCount(value.generation)) throw new StekRingFormatError('generation is not a count');
  if (!Array.isArray(value.keys)) throw new StekRingFormatError('keys is not a list');
  const keys = value.keys.map((entry: unknown, index: number): StekKey => {
    if (!isObject(entry)) throw new StekRingFormatError(`keys[${index}] is not an object`);
    for (const field of ['serial', 'createdAt', 'encryptsFrom', 'encryptsUntil', 'dropAt']) {
      if (!isCount(entry[field])) {
        throw new StekRingFormatError(`keys[${index}].${field} is not a whole number`);
      }
    }
    const bytes = (field: string, length: number) => {
      const raw = entry[field];
      const decoded = typeof raw === 'string' ? fromBase64(raw) : undefined;
      if (decoded?.length !== length) {
        throw new StekRingFormatError(`keys[${index}].${field} is not ${length} bytes of base64`);
      }
      return decoded;
    };
    return {
      serial: entry.serial as number,
      createdAt: entry.createdAt as number,
      encryptsFrom: entry.encryptsFrom as number,
      encryptsUntil: entry.encryptsUntil as number,
      dropAt: entry.dropAt as number,
      material: new StekMaterial(
        bytes('name', STEK_NAME_BYTES),
        bytes('hmacSecret', STEK_HMAC_BYTES),
        bytes('aesKey', STEK_AES_BYTES),
      ),
    };
  });
  return { generation: value.generation as number, keys: sortNewestFirst(keys) };
}

/** Standard base64 (with padding) of bytes. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Bytes of standard base64, or `undefined` when the text is not base64. */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

function newKey(
  serial: number,
  now: Instant,
  encryptsFrom: Instant,
  policy: StekPolicy,
  randomBytes: RandomBytes,
): StekKey {
  const take = (length: number) => {
    const bytes = randomBytes(length);
    if (bytes.length !== length) {
      throw new RangeError(`randomBytes(${length}) returned ${bytes.length} bytes`);
    }
    return Uint8Array.from(bytes);
  };
  const encryptsUntil = encryptsFrom + policy.periodMs;
  return {
    serial,
    createdAt: now,
    encryptsFrom,
    encryptsUntil,
    dropAt: encryptsUntil + policy.retentionMs,
    material: new StekMaterial(take(STEK_NAME_BYTES), take(STEK_HMAC_BYTES), take(STEK_AES_BYTES)),
  };
}

function pickEncrypting(keysNewestFirst: readonly StekKey[], now: Instant): StekKey | undefined {
  return keysNewestFirst.find((key) => key.encryptsFrom <= now);
}

function sortNewestFirst(keys: readonly StekKey[]): StekKey[] {
  return [...keys].sort((a, b) => b.encryptsFrom - a.encryptsFrom || b.serial - a.serial);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isCount(value: unknown): boolean {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
